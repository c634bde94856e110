"""Browser steps shared by the unit-hall browser tests."""

from __future__ import annotations

from flask import Flask
from support import UNIT_A, latest_sms_code

from engine.commands import DEMO_UNIT_PASSWORD

try:
    from playwright.sync_api import Page, Response, expect
except ImportError:
    # The `browser` fixture fails the test with an install hint.
    pass


def log_in_unit(
    page: Page, base_url: str, app: Flask, unit_account: str = UNIT_A
) -> None:
    """Log into the unit hall with the password and the demo inbox's SMS code."""
    page.goto(f"{base_url}/unit/login")
    page.fill("#f-unit_account", unit_account)
    page.fill("#f-password", DEMO_UNIT_PASSWORD)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("p.notice")).to_contain_text("验证码已发送")
    page.fill("#f-password", DEMO_UNIT_PASSWORD)
    page.fill("#f-sms_code", latest_sms_code(app))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(f"{base_url}/unit/")


def watch_failures(page: Page) -> tuple[list[str], list[str]]:
    """Collect script errors and failed requests of the page as they happen."""
    script_errors: list[str] = []
    failed_requests: list[str] = []

    def record(response: Response) -> None:
        if response.status >= 400:
            failed_requests.append(
                f"{response.request.method} {response.url}: {response.status}"
            )

    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on("response", record)
    return script_errors, failed_requests
