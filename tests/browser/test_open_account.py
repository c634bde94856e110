"""Open a personal account end to end in chromium, as a unit handler would."""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from connectors.embedded.codes import SEALED, SEX
from connectors.embedded.models import Account, Person, Unit
from engine.commands import DEMO_UNIT_PASSWORD
from engine.storage.models import Application
from support import UNIT_A, latest_sms_code

try:
    from playwright.sync_api import Locator, Page, Response, expect
except ImportError:
    # The `browser` fixture fails the test with an install hint, so collection must
    # not fail first and stop the rest of the suite.
    pass

# 12% of this base, the ratio of unit 0201000001, is 720.60, so the rounding shows.
BASE = Decimal("6005")
MOBILE = "13800138000"
SCAN_NAME = "id-card-front.png"


@dataclass(frozen=True)
class Newcomer:
    """A person stored in the core without an active account, so a unit may open one."""

    id_number: str
    name: str
    sex: str
    birth_date: dt.date


def find_newcomer(app: Flask, unit_account: str) -> Newcomer:
    """Pick a person whose only accounts are sealed ones in other units."""
    with app.extensions["hall"].session_factory() as session:
        rows = session.execute(
            select(Person, Account.status, Unit.unit_account)
            .join(Account, Account.person_id == Person.id)
            .join(Unit, Account.unit_id == Unit.id)
            .order_by(Person.id_number)
        ).all()
    accounts_by_person: dict[str, list[tuple[str, str]]] = {}
    people: dict[str, Person] = {}
    for person, status, account_unit in rows:
        people[person.id_number] = person
        accounts_by_person.setdefault(person.id_number, []).append(
            (status, account_unit)
        )
    for id_number, accounts in accounts_by_person.items():
        if all(status == SEALED and unit != unit_account for status, unit in accounts):
            person = people[id_number]
            return Newcomer(id_number, person.name, SEX[person.sex], person.birth_date)
    raise AssertionError("the demo data has no person with only sealed accounts")


def deposit_ratios(app: Flask, unit_account: str) -> tuple[Decimal, Decimal]:
    """Return the unit's and the employee's deposit ratio of a unit, in percent."""
    with app.extensions["hall"].session_factory() as session:
        unit = session.scalars(
            select(Unit).where(Unit.unit_account == unit_account)
        ).one()
    return Decimal(unit.unit_ratio), Decimal(unit.person_ratio)


def expected_deposit(app: Flask, base: Decimal, ratio: Decimal) -> str:
    """Return base × ratio rounded half up to the policy's places, with two decimals."""
    places = int(app.extensions["hall"].policy.value("deposit_places"))
    amount = (base * ratio / 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return f"{amount:.2f}"


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """Build a valid 8-bit RGB PNG of one red colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    # Each scanline starts with filter type 0 (none).
    pixels = b"".join(b"\x00" + b"\xcc\x22\x22" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def log_in_unit(page: Page, base_url: str, app: Flask) -> None:
    """Log into the unit hall with password and the code from the demo SMS gateway."""
    page.goto(f"{base_url}/unit/login")
    page.fill("#f-unit_account", UNIT_A)
    page.fill("#f-password", DEMO_UNIT_PASSWORD)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("p.notice")).to_contain_text("验证码已发送")

    # The code button updates the messages in place, so the password stays typed.
    expect(page.locator("#f-password")).to_have_value(DEMO_UNIT_PASSWORD)
    page.fill("#f-sms_code", latest_sms_code(app))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(f"{base_url}/unit/")


def record_failure(response: Response, failures: list[str]) -> None:
    if response.status >= 400:
        failures.append(f"{response.request.method} {response.url}: {response.status}")


def row_input(row: Locator, field: str) -> Locator:
    return row.locator(f"input[name$='-{field}']")


@pytest.mark.browser
def test_open_account_in_browser(
    live_server: str, page: Page, app: Flask, tmp_path: Path
) -> None:
    script_errors: list[str] = []
    failed_requests: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on("response", lambda response: record_failure(response, failed_requests))
    newcomer = find_newcomer(app, UNIT_A)
    unit_ratio, person_ratio = deposit_ratios(app, UNIT_A)
    unit_deposit = expected_deposit(app, BASE, unit_ratio)
    person_deposit = expected_deposit(app, BASE, person_ratio)
    total_deposit = f"{Decimal(unit_deposit) + Decimal(person_deposit):.2f}"

    log_in_unit(page, live_server, app)
    page.locator("nav.menu").get_by_role("link", name="个人账户设立").click()
    expect(page.locator("h1")).to_have_text("个人账户设立")
    expect(page).to_have_url(f"{live_server}/unit/unit-open-account")

    # 录入 adds a row through htmx, and a full reload would drop this marker on window.
    page.evaluate("window.pageMarker = 'not reloaded'")
    rows = page.locator("#tbody-employees > tr")
    expect(rows).to_have_count(1)
    page.get_by_role("button", name="录入").click()
    expect(rows).to_have_count(2)
    assert page.evaluate("window.pageMarker") == "not reloaded"
    first, added = rows.nth(0), rows.nth(1)

    # Leaving the ID number field fires the person lookup of the core.
    row_input(added, "id_number").fill(newcomer.id_number)
    row_input(added, "id_number").press("Tab")
    expect(row_input(added, "name")).to_have_value(newcomer.name)
    expect(row_input(added, "sex")).to_have_value(newcomer.sex)
    expect(row_input(added, "birth_date")).to_have_value(
        newcomer.birth_date.isoformat()
    )
    expect(row_input(added, "existing_status")).to_have_value("封存（其他单位）")

    row_input(added, "mobile").fill(MOBILE)
    row_input(added, "base").fill(str(BASE))
    row_input(added, "base").press("Tab")
    expect(row_input(added, "unit_deposit")).to_have_value(unit_deposit)
    expect(row_input(added, "person_deposit")).to_have_value(person_deposit)
    expect(page.locator("#f-total_unit_deposit")).to_have_value(unit_deposit)
    expect(page.locator("#f-total_person_deposit")).to_have_value(person_deposit)
    expect(page.locator("#f-total_deposit")).to_have_value(total_deposit)

    first.get_by_role("button", name="删除").click()
    expect(rows).to_have_count(1)
    expect(row_input(rows.nth(0), "name")).to_have_value(newcomer.name)
    expect(page.locator("#f-employee_count")).to_have_value("1")
    expect(page.locator("#f-total_deposit")).to_have_value(total_deposit)

    # The file input posts itself through htmx as soon as a file is chosen.
    page.set_input_files(
        "#f-id_card",
        files=[{"name": SCAN_NAME, "mimeType": "image/png", "buffer": png_bytes()}],
    )
    expect(page.locator("#att-id_card ul.files")).to_contain_text(SCAN_NAME)
    expect(page.locator("#draft-token")).not_to_have_value("")
    assert page.evaluate("window.pageMarker") == "not reloaded"

    page.check("#f-_agree")
    page.screenshot(path=str(tmp_path / "open-account-form.png"), full_page=True)
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("h1")).to_have_text("个人账户设立：请核对后提交")
    review = page.locator("table.result-table tbody tr")
    expect(review).to_have_count(1)
    expect(review.nth(0)).to_contain_text(newcomer.name)
    expect(page.locator("ul.files")).to_contain_text(SCAN_NAME)

    page.get_by_role("button", name="确认提交").click()
    expect(page.locator("h1")).to_have_text("申报详情")
    expect(page.locator("#application-status")).to_have_text("待审核")
    number = page.locator("#application-number").inner_text().strip()
    assert re.fullmatch(r"U[0-9]{14}", number), number
    expect(page.locator("table.result-table")).to_contain_text(newcomer.id_number)
    expect(page.locator("ul.files")).to_contain_text(SCAN_NAME)
    page.screenshot(path=str(tmp_path / "open-account-submitted.png"), full_page=True)

    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        assert stored.service_id == "unit-open-account"
        assert stored.unit_account == UNIT_A
        assert stored.status == "submitted"
        assert stored.delivered_at is not None, stored.delivery_error
        employees = (stored.data or {}).get("employees", [])
        assert len(employees) == 1
        assert employees[0]["id_number"] == newcomer.id_number
        assert employees[0]["name"] == newcomer.name
        assert employees[0]["mobile"] == MOBILE
        assert Decimal(str(employees[0]["base"])) == BASE
        assert Decimal(str(employees[0]["unit_deposit"])) == Decimal(unit_deposit)
        assert [item.kind for item in stored.attachments] == ["id_card"]
        assert stored.attachments[0].original_name == SCAN_NAME
    assert script_errors == []
    assert failed_requests == []
