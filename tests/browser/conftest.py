"""Fixtures of the browser suite: the hall on a loopback port and a chromium page."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Playwright drives Debian's chromium package because the test machines have no
# network to download Playwright's own browser builds.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    # Chromium will not start as root with its sandbox on, and containers often lack
    # the user namespaces that the sandbox needs.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Keep chromium from contacting Google's update and sync servers, because the
    # test runs offline.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Maximum wait, in milliseconds, for one element, value or page load.
STEP_TIMEOUT_MS = 10_000


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve the test app on a free loopback port and return its base URL."""
    # Port 0 lets the kernel pick a free port, so parallel runs cannot collide.
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, name="live-server", daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the live server thread did not stop"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Launch headless chromium once per run, and fail rather than skip without it."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as error:
        pytest.fail(
            f"the browser tests need the playwright package ({error}); "
            "install the test extras with: .venv/bin/pip install -e '.[test]'",
            pytrace=False,
        )
    if not CHROMIUM.is_file():
        pytest.fail(
            f"the browser tests need chromium at {CHROMIUM}, which is missing; "
            "install it with: apt-get install chromium (make test does this)",
            pytrace=False,
        )

    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
        except Error as error:
            pytest.fail(
                f"chromium at {CHROMIUM} failed to start: {error}", pytrace=False
            )
        yield launched
        launched.close()


@pytest.fixture
def page(
    browser: Browser, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Page]:
    """Open a page in a fresh browser context, so no cookie leaks between tests.

    When the test fails, a screenshot of the page is saved and its path printed.
    """
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1400, "height": 900}
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    opened = context.new_page()
    yield opened

    report = request.node.stash.get(CALL_REPORT, None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        opened.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failed page: {shot}")
    context.close()


CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Keep the report of the test body, so the page fixture can check for a failure."""
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    return report
