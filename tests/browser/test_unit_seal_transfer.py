"""The seal-transfer back-fill of the target unit and the employees, in chromium."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from support import UNIT_A, UNIT_B

from browser.unit_login import log_in_unit, watch_failures
from connectors.embedded.models import Account, Person, Unit
from engine.money import format_yuan

try:
    from playwright.sync_api import Page, expect
except ImportError:
    pass

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def unit_and_employee(app: Flask, unit_account: str) -> tuple[str, Person, Account]:
    with app.extensions["hall"].session_factory() as session:
        unit = session.scalars(
            select(Unit).where(Unit.unit_account == unit_account)
        ).one()
        account, person = session.execute(
            select(Account, Person)
            .join(Person, Account.person_id == Person.id)
            .where(Account.unit_id == unit.id, Account.status == "01")
            .order_by(Account.person_account.desc())
        ).first()
        return unit.name, person, account


@pytest.mark.browser
def test_seal_transfer_backfill_in_browser(
    live_server: str, page: Page, app: Flask
) -> None:
    script_errors, failed_requests = watch_failures(page)
    _own_name, person, account = unit_and_employee(app, UNIT_A)
    target_name, foreign, _foreign_account = unit_and_employee(app, UNIT_B)

    log_in_unit(page, live_server, app)
    page.locator("nav.menu").get_by_role("link", name="职工封存转移").click()
    expect(page.locator("h1")).to_have_text("职工封存转移")
    page.evaluate("window.pageMarker = 'not reloaded'")

    # An unknown unit account shows an error and leaves the name empty.
    page.fill("#f-target_unit_account", "0201999999")
    page.press("#f-target_unit_account", "Tab")
    expect(page.locator("#err-target_unit_account")).to_have_text(
        "未找到该单位账号，请核对转入单位账号"
    )
    expect(page.locator("#f-target_unit_name")).to_have_value("")
    page.fill("#f-target_unit_account", UNIT_B)
    page.press("#f-target_unit_account", "Tab")
    expect(page.locator("#f-target_unit_name")).to_have_value(target_name)
    expect(page.locator("#err-target_unit_account")).to_have_count(0)

    # Another unit's employee looks unknown; the unit's own fills the row.
    id_input = page.locator("#f-employees-0-id_number")
    id_input.fill(foreign.id_number)
    id_input.press("Tab")
    expect(page.locator("#err-employees-0-id_number")).to_have_text(
        "该证件号码不是本单位职工，请核对"
    )
    expect(page.locator("#f-employees-0-name")).to_have_value("")
    id_input = page.locator("#f-employees-0-id_number")
    id_input.fill(person.id_number)
    id_input.press("Tab")
    expect(page.locator("#f-employees-0-name")).to_have_value(person.name)
    expect(page.locator("#f-employees-0-person_account")).to_have_value(
        account.person_account
    )
    expect(page.locator("#f-employees-0-balance")).to_have_value(f"{account.balance}")
    expect(page.locator("#f-employees-0-status_label")).to_have_value("正常")

    # Choosing to seal hides the target unit, and choosing transfer shows it again.
    page.select_option("#f-action", "seal")
    expect(page.locator("#cell-target_unit_account")).to_be_hidden()
    # htmx drops a trigger from an element whose last request has not settled, which
    # takes 20 ms after the swap. A person never changes the choice that fast.
    page.wait_for_timeout(200)
    page.select_option("#f-action", "transfer")
    expect(page.locator("#f-target_unit_account")).to_be_visible()
    assert page.evaluate("window.pageMarker") == "not reloaded"

    page.fill("#f-target_unit_account", UNIT_B)
    page.press("#f-target_unit_account", "Tab")
    expect(page.locator("#f-target_unit_name")).to_have_value(target_name)
    page.select_option("#f-reason", "reassigned")
    page.set_input_files(
        "#f-leaving_certificate",
        files=[{"name": "调动证明.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    expect(page.locator("#att-leaving_certificate ul.files")).to_contain_text(
        "调动证明.pdf"
    )
    page.check("#f-_agree")
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("h1")).to_have_text("职工封存转移：请核对后提交")
    expect(page.locator("main")).to_contain_text(target_name)
    expect(page.locator("main")).to_contain_text(format_yuan(account.balance))
    page.get_by_role("button", name="确认提交").click()
    expect(page.locator("#application-status")).to_have_text("待审核")
    assert script_errors == []
    assert failed_requests == []
