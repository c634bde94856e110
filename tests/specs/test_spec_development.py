"""Tests of development mode: specs reload without a restart, and the spec preview."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import login_staff, login_unit, parse

from engine import create_app
from engine.spec_check import SpecCheckFailed

REPO_SPECS = Path(__file__).resolve().parents[2] / "specs"

DRAFT = """\
id: unit-draft
version: 1
title: 草稿查询
hall: unit
kind: query
menu: {group: 查询业务, order: 900}
result:
  operation: unit.employees
  on-load: true
  table:
    columns:
      - {name: person_account, label: 个人账号, type: code}
      - {name: name, label: 姓名}
"""

AppMaker = Callable[..., Flask]


@pytest.fixture
def specs_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    shutil.copytree(REPO_SPECS, folder)
    return folder


@pytest.fixture
def make_app(database_url: str, tmp_path: Path, specs_copy: Path) -> Iterator[AppMaker]:
    made: list[Flask] = []

    def make(**overrides: object) -> Flask:
        settings = {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
            "SPECS_DIR": specs_copy,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "DEVELOPMENT": True,
            **overrides,
        }
        app = create_app(settings)
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["hall"].session_factory.kw["bind"].dispose()


def edit(path: Path, text: str) -> None:
    """Write `text` and move the modification time on, as a later save would."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def unit_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    login_unit(client, app)
    return client


def menu_titles(client: FlaskClient) -> list[str]:
    page = parse(client.get("/unit/"))
    return [link.get_text(strip=True) for link in page.select("nav a")]


def test_broken_spec_shows_its_errors(make_app: AppMaker, specs_copy: Path) -> None:
    ledger = specs_copy / "unit" / "unit-ledger.yaml"
    ledger.write_text(
        ledger.read_text(encoding="utf-8").replace("type: month-range", "type: mnth"),
        encoding="utf-8",
    )
    client = unit_client(make_app())
    broken = client.get("/unit/unit-ledger")
    assert broken.status_code == 500
    items = parse(broken).select("#spec-errors li")
    assert len(items) == 1
    assert items[0].select_one(".code").get_text() == "E105"
    assert "did you mean 'month'?" in items[0].select_one(".message").get_text()
    # The rest of the hall works.
    assert client.get("/unit/unit-applications").status_code == 200


def test_broken_spec_stops_hall_outside_development(
    make_app: AppMaker, specs_copy: Path
) -> None:
    (specs_copy / "unit" / "unit-ledger.yaml").write_text("id: [\n", encoding="utf-8")
    with pytest.raises(SpecCheckFailed):
        make_app(DEVELOPMENT=False)


def test_changed_spec_reloaded(make_app: AppMaker, specs_copy: Path) -> None:
    client = unit_client(make_app())
    ledger = specs_copy / "unit" / "unit-ledger.yaml"
    text = ledger.read_text(encoding="utf-8")
    edit(ledger, text.replace("title: 单位明细账查询", "title: 单位明细账"))
    page = parse(client.get("/unit/unit-ledger"))
    assert page.h1.get_text(strip=True) == "单位明细账"

    # A mistake shows on the page until it is corrected.
    edit(ledger, text.replace("order: 30", "order: -1"))
    assert client.get("/unit/unit-ledger").status_code == 500
    edit(ledger, text)
    page = parse(client.get("/unit/unit-ledger"))
    assert page.h1.get_text(strip=True) == "单位明细账查询"


def test_added_spec_joins_menu(make_app: AppMaker, specs_copy: Path) -> None:
    client = unit_client(make_app())
    assert "草稿查询" not in menu_titles(client)
    edit(specs_copy / "unit" / "unit-draft.yaml", DRAFT)
    assert "草稿查询" in menu_titles(client)
    (specs_copy / "unit" / "unit-draft.yaml").unlink()
    assert client.get("/unit/unit-draft").status_code == 404


def test_preview_opens_draft(make_app: AppMaker, specs_copy: Path) -> None:
    (specs_copy / "drafts").mkdir()
    edit(specs_copy / "drafts" / "unit-draft.yaml", DRAFT)
    client = unit_client(make_app())
    listing = parse(client.get("/dev/specs"))
    rows = {
        row.find("code").get_text(): row.find_all("td")[1].get_text()
        for row in listing.select("#spec-files tbody tr")
    }
    assert rows["drafts/unit-draft.yaml"] == "不在菜单中"
    assert rows["unit/unit-ledger.yaml"] == "已在菜单中"

    opened = client.get("/dev/specs/preview?file=drafts/unit-draft.yaml")
    assert opened.status_code == 302
    assert opened.headers["Location"] == "/unit/unit-draft"
    page = client.get("/unit/unit-draft")
    assert page.status_code == 200
    document = parse(page)
    assert document.h1.get_text(strip=True) == "草稿查询"
    # The query ran against the embedded core when the page opened.
    assert document.select("table.result-table tbody tr")
    assert "草稿查询" not in menu_titles(client)


def test_preview_lists_errors(make_app: AppMaker, specs_copy: Path) -> None:
    (specs_copy / "drafts").mkdir()
    edit(
        specs_copy / "drafts" / "unit-draft.yaml",
        DRAFT.replace("unit.employees", "unit.employes"),
    )
    client = unit_client(make_app())
    page = client.get("/dev/specs/preview?file=drafts/unit-draft.yaml")
    assert page.status_code == 200
    items = parse(page).select("#spec-errors li")
    assert [item.select_one(".code").get_text() for item in items] == ["E404"]
    assert "did you mean 'unit.employees'?" in items[0].get_text()


def test_preview_draft_with_menu_id(make_app: AppMaker, specs_copy: Path) -> None:
    (specs_copy / "drafts").mkdir()
    ledger = (specs_copy / "unit" / "unit-ledger.yaml").read_text(encoding="utf-8")
    edit(specs_copy / "drafts" / "unit-ledger.yaml", ledger)
    client = unit_client(make_app())
    page = client.get("/dev/specs/preview?file=drafts/unit-ledger.yaml")
    assert page.status_code == 200
    notice = parse(page).select_one("#preview-notice").get_text()
    assert "与菜单中的业务相同" in notice
    # The menu's own file opens as usual.
    opened = client.get("/dev/specs/preview?file=unit/unit-ledger.yaml")
    assert opened.headers["Location"] == "/unit/unit-ledger"


@pytest.mark.parametrize(
    "name",
    [
        "../../secret.yaml",
        "policy.yaml",
        "unit/unit-ledger.yml",
        "",
    ],
)
def test_preview_stays_in_specs_folder(make_app: AppMaker, name: str) -> None:
    client = make_app().test_client()
    assert (
        client.get("/dev/specs/preview", query_string={"file": name}).status_code == 404
    )


def test_preview_needs_reviewer_outside_demo(make_app: AppMaker) -> None:
    app = make_app(DEMO_MODE=False)
    client = app.test_client()
    refused = client.get("/dev/specs")
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/staff/login")
    login_staff(client)
    assert client.get("/dev/specs").status_code == 200


def test_preview_absent_outside_development(make_app: AppMaker) -> None:
    client = make_app(DEVELOPMENT=False).test_client()
    assert client.get("/dev/specs").status_code == 404
