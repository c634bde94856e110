"""The print section of a spec: checked against the templates, built into the model."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import engine
from engine.policy import Policy
from engine.service import build_service
from engine.spec_check import check_file

POLICY = Path(engine.__file__).parent.parent / "specs" / "policy.yaml"

PRINT_SPEC = """\
id: person-x
version: 1
title: 打印
hall: person
kind: {kind}
menu: {{group: g, order: 1}}
print:
  operation: certificate.person_deposit
  template: {template}
  filename: 个人住房公积金缴存证明
{validity}  facts:
    - {{name: name, label: 姓名}}
    - {{name: {second}, label: 余额, type: money}}
"""


def check(
    tmp_path: Path,
    kind: str = "print",
    template: str = "person-deposit-certificate.html",
    second: str = "balance",
    valid_days: int | None = 30,
) -> tuple:
    path = tmp_path / "person" / "person-x.yaml"
    path.parent.mkdir(exist_ok=True)
    validity = f"  valid_days: {valid_days}\n" if valid_days is not None else ""
    text = PRINT_SPEC.format(
        kind=kind, template=template, second=second, validity=validity
    )
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return check_file(path, policy_names=Policy.from_file(POLICY).names())


def test_print_spec_valid_and_built(tmp_path: Path) -> None:
    spec, errors = check(tmp_path)
    assert errors == []
    assert spec is not None
    service = build_service(spec)
    assert service.printout is not None
    assert service.printout.template == "person-deposit-certificate.html"
    assert service.printout.filename == "个人住房公积金缴存证明"
    assert [column.name for column in service.printout.facts] == ["name", "balance"]
    assert service.printout.valid_days == 30


@pytest.mark.parametrize(
    ("changes", "path", "expected"),
    [
        # a template that is not in renderers/pdf/templates
        (
            {"template": "person-deposit.html"},
            "print.template",
            "did you mean 'person-deposit-certificate.html'?",
        ),
        # a print section on a query service, which also lacks its result section
        ({"kind": "query"}, "print", "only a service of kind print"),
        # the same fact listed twice
        ({"second": "name"}, "print.facts[1].name", "already used"),
        # a template path outside the templates folder
        ({"template": "../secret.html"}, "print.template", "is not valid"),
        # a template that prints the validity of a spec that declares none
        ({"valid_days": None}, "print.template", "does not declare"),
        # a validity that the template never prints
        (
            {"template": "person-loan-settlement-certificate.html"},
            "print.valid_days",
            "does not print valid_days",
        ),
        # a validity of zero days
        ({"valid_days": 0}, "print.valid_days", ""),
    ],
)
def test_print_spec_errors(
    tmp_path: Path, changes: dict, path: str, expected: str
) -> None:
    _, errors = check(tmp_path, **changes)
    found = [error for error in errors if error.path == path]
    others = [error.path for error in errors if error.path != path]
    assert len(found) == 1
    assert expected in found[0].message
    assert others == (["kind"] if changes.get("kind") == "query" else [])
