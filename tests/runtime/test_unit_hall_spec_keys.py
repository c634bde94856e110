"""Spec checks of the keys the unit hall added: page-size, password, account kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.spec_check import check_file

ACCOUNT = {
    "id": "unit-x",
    "version": 1,
    "title": "T",
    "hall": "unit",
    "kind": "account",
    "menu": {"group": "g", "order": 1},
    "fields": [{"name": "old_password", "type": "password", "label": "原密码"}],
    "submit": {"operation": "login.change_password"},
}


def check(tmp_path: Path, spec: dict[str, Any]) -> list[str]:
    path = tmp_path / "unit" / "unit-x.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    _data, errors = check_file(path, policy_names=set())
    return [str(error) for error in errors]


def test_account_service_with_password_passes(tmp_path: Path) -> None:
    assert check(tmp_path, ACCOUNT) == []


def test_account_service_needs_submit(tmp_path: Path) -> None:
    spec = {key: value for key, value in ACCOUNT.items() if key != "submit"}
    errors = check(tmp_path, spec)
    assert len(errors) == 1
    assert "a service of kind account needs a submit section" in errors[0]


@pytest.mark.parametrize(
    ("size", "valid"),
    [
        (50, True),  # a usual page
        (5, True),  # the smallest page allowed
        (4, False),  # too small to be useful
        (501, False),  # more than one page may show
    ],
)
def test_row_page_size_bounds(tmp_path: Path, size: int, valid: bool) -> None:
    spec = {
        **ACCOUNT,
        "kind": "apply",
        "rows": [
            {
                "name": "items",
                "label": "明细",
                "page-size": size,
                "fields": [{"name": "code", "type": "text", "label": "代码"}],
            }
        ],
        "submit": {"operation": "item.submit"},
    }
    errors = check(tmp_path, spec)
    assert (errors == []) is valid, errors
    if not valid:
        assert "page-size" in errors[0]
