"""Helpers for tests that drive the hall through the Flask test client."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine import create_app
from engine.commands import (
    DEMO_PERSON_PASSWORD,
    DEMO_STAFF_ID,
    DEMO_STAFF_PASSWORD,
    DEMO_UNIT_PASSWORD,
)
from engine.storage.models import SmsMessage

UNIT_A = "0201000001"
UNIT_B = "0201000002"


def build_test_app(database_url: str, folder: Path, **settings: Any) -> Flask:
    """Build the hall on a test database and folder, with `settings` on top.

    The caller disposes of the database pool when done:
    `app.extensions["hall"].session_factory.kw["bind"].dispose()`.
    """
    return create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(folder),
            "ATTACHMENTS_DIR": str(folder / "attachments"),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            **settings,
        }
    )


def csrf_token(page: TestResponse | str) -> str:
    text = page if isinstance(page, str) else page.get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert match, "page has no CSRF token"
    return match.group(1)


def parse(response: TestResponse) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def parse_fragment(response: TestResponse) -> BeautifulSoup:
    """Parse an htmx fragment; table cells come wrapped in <template> for out-of-band swaps."""
    text = (
        response.get_data(as_text=True)
        .replace("<template>", "")
        .replace("</template>", "")
    )
    return BeautifulSoup(text, "html.parser")


def latest_sms_code(app: Flask) -> str:
    with app.extensions["hall"].session_factory() as session:
        message = session.scalars(
            select(SmsMessage).order_by(SmsMessage.id.desc())
        ).first()
    assert message is not None, "no SMS was sent"
    match = re.search(r"[0-9]{6}", message.text)
    assert match
    return match.group(0)


def login_unit(client: FlaskClient, app: Flask, unit_account: str = UNIT_A) -> None:
    token = csrf_token(client.get("/unit/login"))
    form = {
        "csrf_token": token,
        "unit_account": unit_account,
        "password": DEMO_UNIT_PASSWORD,
    }
    sent = client.post("/unit/login", data={**form, "action": "send_code"})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    code = latest_sms_code(app)
    done = client.post(
        "/unit/login", data={**form, "action": "login", "sms_code": code}
    )
    assert done.status_code == 302, done.get_data(as_text=True)


def login_person(client: FlaskClient, login_id: str) -> None:
    token = csrf_token(client.get("/person/login"))
    done = client.post(
        "/person/login",
        data={
            "csrf_token": token,
            "login_id": login_id,
            "password": DEMO_PERSON_PASSWORD,
        },
    )
    assert done.status_code == 302, done.get_data(as_text=True)


def login_staff(client: FlaskClient) -> None:
    token = csrf_token(client.get("/staff/login"))
    done = client.post(
        "/staff/login",
        data={
            "csrf_token": token,
            "staff_id": DEMO_STAFF_ID,
            "password": DEMO_STAFF_PASSWORD,
        },
    )
    assert done.status_code == 302


def errors_of(response: TestResponse) -> list[str]:
    """Return the messages of a page's error summary."""
    summary = parse(response).find(id="error-summary")
    if summary is None:
        return []
    return [item.get_text(strip=True) for item in summary.find_all("li")]


def post_form(
    client: FlaskClient, url: str, data: dict[str, Any], **kwargs: Any
) -> TestResponse:
    """Post to a page with the CSRF token of the page itself."""
    token = csrf_token(client.get(url))
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)
