"""Steps of a unit-hall application for tests: fill in, confirm, review."""

from __future__ import annotations

import io
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from support import csrf_token, errors_of, latest_sms_code, login_staff
from werkzeug.test import TestResponse

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(PDF), name


def sms_code(client: FlaskClient, app: Flask, service_id: str) -> str:
    """Ask for the SMS code of a service and return the code the inbox received."""
    token = csrf_token(client.get(f"/unit/{service_id}"))
    sent = client.post("/sms/send", data={"csrf_token": token, "purpose": service_id})
    assert sent.status_code == 200
    return latest_sms_code(app)


def post_service(
    client: FlaskClient,
    service_id: str,
    data: dict[str, Any],
    files: dict[str, Any] | None = None,
) -> TestResponse:
    """Post a service form as the page does, with the page's CSRF token."""
    url = f"/unit/{service_id}"
    token = csrf_token(client.get(url))
    return client.post(
        url,
        data={"csrf_token": token, **data, **(files or {})},
        content_type="multipart/form-data",
    )


def confirm(client: FlaskClient, service_id: str, review: TestResponse) -> str:
    """Confirm a checked form from its review page and return the application number."""
    assert review.status_code == 200, errors_of(review)
    match = re.search(r'name="_draft" value="([^"]+)"', review.get_data(as_text=True))
    assert match, "the review page has no draft token"
    url = f"/unit/{service_id}"
    done = client.post(
        f"{url}/confirm",
        data={"csrf_token": csrf_token(client.get(url)), "_draft": match.group(1)},
    )
    assert done.status_code == 302
    return done.headers["Location"].rsplit("/", 1)[-1]


def submit(
    client: FlaskClient,
    service_id: str,
    data: dict[str, Any],
    files: dict[str, Any] | None = None,
) -> str:
    """Fill in, check and confirm an application, and return its number."""
    return confirm(client, service_id, post_service(client, service_id, data, files))


def decide(
    app: Flask, number: str, decision: str = "approve", comment: str = ""
) -> None:
    """Approve or return an application as a reviewer of the centre."""
    reviewer = app.test_client()
    login_staff(reviewer)
    page = reviewer.get(f"/staff/reviews/{number}")
    assert page.status_code == 200
    decided = reviewer.post(
        f"/staff/reviews/{number}",
        data={"csrf_token": csrf_token(page), "decision": decision, "comment": comment},
    )
    assert decided.status_code == 302
