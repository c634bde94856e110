"""Print a certificate in chromium as a depositor would, then verify it anonymously."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from browser.unit_login import log_in_unit, watch_failures
from engine.commands import DEMO_PERSON_PASSWORD
from tests.certificates.conftest import pdf_text, squeeze

try:
    from playwright.sync_api import Page, expect
except ImportError:
    # The `browser` fixture fails the test with an install hint.
    pass

pytestmark = pytest.mark.browser

DEMO_ID = "44020319850305021X"
CODE = re.compile(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}")


def test_print_and_verify_in_browser(
    page: Page, live_server: str, tmp_path: Path
) -> None:
    page.goto(f"{live_server}/person/login")
    page.fill("#f-login_id", DEMO_ID)
    page.fill("#f-password", DEMO_PERSON_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="个人缴存证明打印").click()
    expect(page.get_by_role("heading", name="个人缴存证明打印")).to_be_visible()

    with page.expect_download() as started:
        page.get_by_role("button", name="打印证明").click()
    download = started.value
    saved = tmp_path / "certificate.pdf"
    download.save_as(str(saved))
    text = squeeze(pdf_text(saved.read_bytes(), tmp_path))

    assert download.suggested_filename == "个人住房公积金缴存证明.pdf"
    assert "陈志远" in text
    code = CODE.search(text)
    assert code

    page.context.clear_cookies()
    page.goto(f"{live_server}/verify")
    page.fill("#f-code", code.group(0).replace("-", " ").lower())
    page.get_by_role("button", name="核验").click()
    expect(page.locator("#verify-result")).to_be_visible()
    expect(page.locator("#verify-facts")).to_contain_text("440203********021X")


def test_long_statement_appears_for_download_in_browser(
    page: Page, live_server: str, app: Flask, tmp_path: Path
) -> None:
    # Any statement of more than 20 rows becomes a print job here.
    app.config["PRINT_JOB_ROWS"] = 20
    log_in_unit(page, live_server, app)
    script_errors, failed_requests = watch_failures(page)
    page.get_by_role("link", name="单位结息对账单打印").click()
    page.select_option("#f-year", index=1)
    page.get_by_role("button", name="打印证明").click()
    expect(page.locator("#print-job")).to_contain_text("正在生成")

    # htmx requests the job's state until the download link replaces the notice.
    link = page.get_by_role("link", name="下载 单位住房公积金结息对账单.pdf")
    expect(link).to_be_visible(timeout=120_000)
    with page.expect_download() as started:
        link.click()
    download = started.value
    saved = tmp_path / "statement.pdf"
    download.save_as(str(saved))
    text = squeeze(pdf_text(saved.read_bytes(), tmp_path))

    assert download.suggested_filename == "单位住房公积金结息对账单.pdf"
    assert "单位住房公积金结息对账单" in text
    assert CODE.search(text)
    assert script_errors == []
    assert failed_requests == []
