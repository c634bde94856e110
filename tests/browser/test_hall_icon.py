"""The hall's pages load without a failed request, the browser's icon included."""

from __future__ import annotations

import pytest
from flask import Flask

try:
    from playwright.sync_api import Page, Response
except ImportError:
    # The `browser` fixture fails the test with an install hint.
    pass


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/", "/person/login", "/unit/login"])
def test_page_and_icon_load_without_failure(
    live_server: str, page: Page, path: str
) -> None:
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))

    page.goto(f"{live_server}{path}")
    # Chromium requests the page's icon after the load event.
    page.wait_for_load_state("networkidle")

    failed = [f"{r.url}: {r.status}" for r in responses if r.status >= 400]
    assert failed == []
    icons = [r for r in responses if r.url.endswith("/static/hall-icon.svg")]
    assert [r.status for r in icons] == [200]


def test_icon_is_an_svg_image(app: Flask) -> None:
    response = app.test_client().get("/static/hall-icon.svg")
    body = response.get_data()
    response.close()

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in body
