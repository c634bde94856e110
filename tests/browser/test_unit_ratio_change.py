"""The ratio change's trial calculation in chromium, page by page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from support import UNIT_A

from browser.unit_login import log_in_unit, watch_failures
from connectors.base import Caller
from connectors.embedded.finance import monthly_deposit

try:
    from playwright.sync_api import Page, expect
except ImportError:
    pass


def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


@pytest.mark.browser
def test_ratio_trial_in_browser(live_server: str, page: Page, app: Flask) -> None:
    script_errors, failed_requests = watch_failures(page)
    router = app.extensions["hall"].router
    employees = router.call("unit.employees", Caller("unit", unit_account=UNIT_A), {})
    new = [monthly_deposit(row["base"], Decimal(9), Decimal(7), 0) for row in employees]
    total_unit = sum((deposit.unit for deposit in new), Decimal(0))
    total_person = sum((deposit.person for deposit in new), Decimal(0))
    old_total = sum(
        (row["unit_deposit"] + row["person_deposit"] for row in employees), Decimal(0)
    )

    log_in_unit(page, live_server, app)
    page.locator("nav.menu").get_by_role("link", name="单位比例调整").click()
    expect(page.locator("h1")).to_have_text("单位比例调整")
    page.evaluate("window.pageMarker = 'not reloaded'")
    rows = page.locator("#tbody-employees > tr")
    expect(rows).to_have_count(50)

    # Leaving each ratio field recalculates every employee and the totals.
    page.fill("#f-new_unit_ratio", "9")
    page.press("#f-new_unit_ratio", "Tab")
    page.fill("#f-new_person_ratio", "7")
    page.press("#f-new_person_ratio", "Tab")
    expect(page.locator("#f-employees-0-new_unit_deposit")).to_have_value(
        money(new[0].unit)
    )
    expect(page.locator("#f-employees-0-new_person_deposit")).to_have_value(
        money(new[0].person)
    )
    first_difference = new[0].total - employees[0]["unit_deposit"]
    first_difference -= employees[0]["person_deposit"]
    expect(page.locator("#f-employees-0-difference")).to_have_value(
        money(first_difference)
    )
    expect(page.locator("#f-total_new_unit")).to_have_value(money(total_unit))
    expect(page.locator("#f-total_new_person")).to_have_value(money(total_person))
    expect(page.locator("#f-total_difference")).to_have_value(
        money(total_unit + total_person - old_total)
    )
    assert page.evaluate("window.pageMarker") == "not reloaded"

    # The next page keeps the typed ratios and shows the next employees' trial.
    page.get_by_role("button", name="下一页").click()
    expect(page.locator("#rows-employees nav.pager")).to_contain_text("第 2 / 3 页")
    expect(page.locator("#f-new_unit_ratio")).to_have_value("9")
    expect(page.locator("#f-employees-50-new_unit_deposit")).to_have_value(
        money(new[50].unit)
    )
    expect(page.locator("#f-total_new_unit")).to_have_value(money(total_unit))

    # A ratio above the policy maximum is an error that names the range.
    page.fill("#f-new_unit_ratio", "13")
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#error-summary")).to_contain_text(
        "新单位缴存比例（%）应在5%至12%之间"
    )
    assert script_errors == []
    # The rejected form itself is the only response with an error status.
    assert failed_requests == [f"POST {live_server}/unit/unit-ratio-change: 400"]
