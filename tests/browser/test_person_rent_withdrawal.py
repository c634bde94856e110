"""Apply for a rent withdrawal in chromium, as a depositor would, and see the limit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from person_support import give_login, renter

from engine.clock import business_date
from engine.commands import DEMO_PERSON_PASSWORD

try:
    from playwright.sync_api import Page, Route, expect
except ImportError:
    # The `browser` fixture fails the test with an install hint.
    pass

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CARD = "6217000000000000004"
# The demo default limit for commercial rentals, a month.
COMMERCIAL_LIMIT = Decimal("1500")


def month(offset: int) -> str:
    today = business_date()
    index = today.year * 12 + today.month - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@pytest.mark.browser
def test_rent_withdrawal_in_browser(app: Flask, live_server: str, page: Page) -> None:
    account = renter(app).person_account
    give_login(app, account)
    page.goto(f"{live_server}/person/login")
    page.fill("#f-login_id", account)
    page.fill("#f-password", DEMO_PERSON_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{live_server}/person/")

    page.goto(f"{live_server}/person/person-rent-withdrawal")
    expect(page.locator("h1")).to_have_text("租房提取")
    page.evaluate("window.pageMarker = 'not reloaded'")
    page.select_option("#f-housing_type", "commercial")
    page.fill("#f-period", month(0))
    page.fill("#f-period-to", month(5))
    page.fill("#f-monthly_rent", "2000")
    page.locator("#f-monthly_rent").blur()
    # The server recalculates as each field changes: six months at 1,500.
    expect(page.locator("#f-rental_months")).to_have_value("6")
    expect(page.locator("#f-max_amount")).to_have_value(f"{COMMERCIAL_LIMIT * 6}.00")
    page.select_option("#f-housing_type", "public")
    expect(page.locator("#f-max_amount")).to_have_value("12000.00")
    # The end of the period alone changes the limit too.
    page.fill("#f-period-to", month(2))
    page.locator("#f-period-to").blur()
    expect(page.locator("#f-rental_months")).to_have_value("3")
    expect(page.locator("#f-max_amount")).to_have_value("6000.00")
    page.fill("#f-period-to", month(5))
    page.locator("#f-period-to").blur()
    expect(page.locator("#f-max_amount")).to_have_value("12000.00")
    assert page.evaluate("window.pageMarker") == "not reloaded"

    page.fill("#f-amount", "9000")
    page.fill("#f-bank_card", CARD)
    page.set_input_files(
        "#f-rental_contract",
        files=[{"name": "lease.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    expect(page.locator("#att-rental_contract ul.files")).to_contain_text("lease.pdf")
    page.check("#f-_agree")
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("h1")).to_have_text("租房提取：请核对后提交")
    expect(page.locator("#result dd[data-name=rule_limit]")).to_have_text("12,000.00")
    expect(page.locator("#result dd[data-name=amount]")).to_have_text("9,000.00")

    page.get_by_role("button", name="确认提交").click()
    expect(page.locator("#application-status")).to_have_text("待审核")


@pytest.mark.browser
def test_slow_recalculation_never_overwrites_newer(
    app: Flask, live_server: str, page: Page
) -> None:
    account = renter(app).person_account
    give_login(app, account)
    page.goto(f"{live_server}/person/login")
    page.fill("#f-login_id", account)
    page.fill("#f-password", DEMO_PERSON_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{live_server}/person/")
    page.goto(f"{live_server}/person/person-rent-withdrawal")
    page.select_option("#f-housing_type", "commercial")
    page.fill("#f-period", month(0))
    page.fill("#f-period-to", month(5))
    expect(page.locator("#f-rental_months")).to_have_value("6")

    # The calculation of the commercial limit is held back in the network, and
    # released only after the change to public housing has been sent.
    held_routes: list[Route] = []

    def hold_first(route: Route) -> None:
        if not held_routes:
            held_routes.append(route)
            return
        route.continue_()

    page.route("**/person-rent-withdrawal/calc", hold_first)
    page.fill("#f-monthly_rent", "2000")
    page.locator("#f-monthly_rent").blur()
    page.wait_for_timeout(300)
    page.select_option("#f-housing_type", "public")
    page.wait_for_timeout(300)
    held_routes[0].continue_()

    expect(page.locator("#f-max_amount")).to_have_value("12000.00")
    # Nothing later moves it back to the commercial limit.
    page.wait_for_load_state("networkidle")
    expect(page.locator("#f-max_amount")).to_have_value("12000.00")
