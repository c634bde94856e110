"""Proof that a new service needs only a YAML file: the README's worked example.

The spec is docs/examples/unit-low-base.yaml, a unit query of the employees whose
deposit base is below an amount the user gives. It is copied into a copy of the
specs folder; nothing else changes, yet it is checked, listed in the menu, validates
its input, runs its query against the embedded core and exports its rows.
"""

from __future__ import annotations

import csv
import io
import shutil
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from support import UNIT_A, errors_of, login_unit, parse

from connectors.base import Caller
from engine import create_app
from engine.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "unit-low-base.yaml"
URL = "/unit/unit-low-base"


@pytest.fixture
def specs_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    shutil.copytree(REPO / "specs", folder)
    shutil.copyfile(EXAMPLE, folder / "unit" / "unit-low-base.yaml")
    return folder


@pytest.fixture
def app(database_url: str, tmp_path: Path, specs_copy: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
            "SPECS_DIR": specs_copy,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    yield app
    app.extensions["hall"].session_factory.kw["bind"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client = app.test_client()
    login_unit(client, app)
    return client


def core_bases(app: Flask) -> dict[str, Decimal]:
    """Return each active employee's base as the embedded core lists them."""
    hall = app.extensions["hall"]
    rows = hall.router.call("unit.employees", Caller("unit", unit_account=UNIT_A), {})
    return {row["person_account"]: row["base"] for row in rows}


def listed_accounts(page: FlaskClient | object) -> list[str]:
    document = parse(page)  # type: ignore[arg-type]
    return [
        row.select_one("td").get_text(strip=True)
        for row in document.select("table.result-table tbody tr")
        if row.select_one("td") is not None and len(row.select("td")) > 1
    ]


def test_example_passes_check(
    specs_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALL_SPECS_DIR", str(specs_copy))
    result = CliRunner().invoke(main, ["specs", "check"])
    assert result.exit_code == 0, result.output
    count = len(list(specs_copy.glob("*/*.yaml")))
    assert result.output.splitlines()[-1] == f"checked {count} specs: no errors"


def test_example_in_menu(client: FlaskClient) -> None:
    page = parse(client.get("/unit/"))
    links = {link.get_text(strip=True): link["href"] for link in page.select("nav a")}
    assert links["低基数职工查询"] == URL


def test_example_validates_threshold(client: FlaskClient) -> None:
    wrong = client.get(URL, query_string={"run": "1", "threshold": "abc"})
    assert wrong.status_code == 400
    assert len(errors_of(wrong)) == 1
    assert "缴存基数低于（元）" in errors_of(wrong)[0]
    negative = client.get(URL, query_string={"run": "1", "threshold": "-1"})
    assert negative.status_code == 400
    assert listed_accounts(negative) == []


def test_example_lists_low_bases(app: Flask, client: FlaskClient) -> None:
    bases = core_bases(app)
    # A threshold between the lowest and the highest base keeps some rows out.
    ordered = sorted(set(bases.values()))
    assert len(ordered) >= 2
    threshold = ordered[len(ordered) // 2]
    expected = sorted(
        (base, account) for account, base in bases.items() if base < threshold
    )
    assert 0 < len(expected) < len(bases)
    page = client.get(
        URL, query_string={"run": "1", "threshold": str(threshold), "page": "1"}
    )
    assert page.status_code == 200
    shown = listed_accounts(page)
    assert shown == [account for _, account in expected][: len(shown)]
    count = parse(page).select_one("p.count").get_text(" ", strip=True)
    assert count.startswith(f"共 {len(expected)} 条")


def test_example_exports_low_bases(app: Flask, client: FlaskClient) -> None:
    bases = core_bases(app)
    threshold = sorted(set(bases.values()))[len(set(bases.values())) // 2]
    response = client.get(
        URL + "/export.csv", query_string={"threshold": str(threshold)}
    )
    assert response.status_code == 200
    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    )
    assert rows[0] == [
        "个人账号",
        "姓名",
        "缴存基数（元）",
        "单位月缴存额（元）",
        "个人月缴存额（元）",
    ]
    exported = sorted(row[0] for row in rows[1:])
    assert exported == sorted(a for a, base in bases.items() if base < threshold)


def readme_blocks(language: str) -> list[str]:
    """Return the README's fenced code blocks of `language`, without their indent."""
    blocks: list[str] = []
    opened: str | None = None
    lines: list[str] = []
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines(True):
        fence = line.strip()
        if opened is None and fence.startswith("```"):
            opened, lines = fence.removeprefix("```"), []
        elif opened is not None and fence == "```":
            if opened == language:
                blocks.append(textwrap.dedent("".join(lines)))
            opened = None
        elif opened is not None:
            lines.append(line)
    return blocks


def test_readme_shows_example() -> None:
    # The README shows the spec exactly as the tests serve it.
    assert EXAMPLE.read_text(encoding="utf-8") in readme_blocks("yaml")


def test_readme_error_is_real(
    specs_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = specs_copy / "unit" / "unit-low-base.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("base < threshold", "base < threshhold"), "utf-8")
    monkeypatch.setenv("HALL_SPECS_DIR", str(specs_copy))
    result = CliRunner().invoke(main, ["specs", "check", str(spec)])
    assert result.exit_code == 1
    printed = result.output.splitlines()[0].removeprefix(str(spec))
    shown = [block for block in readme_blocks("") if "[E315]" in block]
    assert len(shown) == 1
    assert shown[0].strip() == "specs/unit/unit-low-base.yaml" + printed
