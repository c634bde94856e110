"""Cached menu and field HTML must leave every page as it would be without the caches.

The service page reuses the HTML of its menu and of each field in an unchanged
state, which saves about 2,800 of the 7,600 Python calls a GET of the loan trial
made before. A stale entry would show another page's current link, or an old value
or error.
"""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from support import csrf_token, login_person, parse

URL = "/person/person-loan-trial"
DEMO_ID = "44020319850305021X"
INVALID = {"house_price": "5000", "home": "first", "income": "", "method": "x"}


def without_tokens(html: str) -> str:
    return re.sub(r'("X-CSRFToken": "|name="csrf_token" value=")[^"]*"', r'\1"', html)


def rendered_fresh(app: Flask, client: FlaskClient, url: str) -> str:
    """Return the page with the caches off, as while templates reload on change."""
    app.jinja_env.auto_reload = True
    try:
        return without_tokens(client.get(url).get_data(as_text=True))
    finally:
        app.jinja_env.auto_reload = False


def test_cached_page_matches_fresh(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ID)
    first = without_tokens(client.get(URL).get_data(as_text=True))
    second = without_tokens(client.get(URL).get_data(as_text=True))
    assert second == first
    assert rendered_fresh(app, client, URL) == second


def test_errors_leave_no_stale_field(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ID)
    blank = without_tokens(client.get(URL).get_data(as_text=True))
    token = csrf_token(client.get(URL))
    failed = client.post(URL, data={"csrf_token": token, **INVALID})
    assert failed.status_code == 400
    page = parse(failed)
    assert page.select("#cell-house_price.invalid")
    assert page.select_one("#f-house_price")["value"] == "5000"
    again = without_tokens(client.get(URL).get_data(as_text=True))
    assert again == blank
    assert 'aria-invalid="true"' not in again


def test_menu_marks_each_current_service(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ID)
    for service_id in ("person-loan-trial", "person-ledger", "person-loan-trial"):
        url = f"/person/{service_id}"
        current = parse(client.get(url)).select("nav.menu a[aria-current=page]")
        assert [link["href"] for link in current] == [url]
        cached = without_tokens(client.get(url).get_data(as_text=True))
        assert rendered_fresh(app, client, url) == cached


def test_typed_password_not_cached(app: Flask, client: FlaskClient) -> None:
    from engine import pages

    login_person(client, DEMO_ID)
    url = "/person/person-password"
    typed = "Typed#Secret2026"
    form = {
        "csrf_token": csrf_token(client.get(url)),
        "old_password": typed,
        "new_password": typed,
        "new_password_repeat": "Other#Secret2026",
    }
    failed = client.post(url, data=form)
    assert failed.status_code == 400
    assert typed not in failed.get_data(as_text=True)
    cached_values = [key[2] for key in pages._field_pages]
    assert typed not in cached_values
