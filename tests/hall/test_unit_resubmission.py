"""A returned unit application corrected and submitted again as a new revision."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import UNIT_B, csrf_token, errors_of, login_unit, parse
from unit_flow import confirm, decide, post_service, submit

from connectors.embedded.models import Account, Person
from engine.storage.models import Application

SERVICE = "unit-open-account"
NEW_ID = "11010519900101007X"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def opening(base: str = "6000") -> dict[str, Any]:
    return {
        "first_month": "2026-12",
        "employees-0-_row": "1",
        "employees-0-id_number": NEW_ID,
        "employees-0-name": "张三",
        "employees-0-mobile": "13800138000",
        "employees-0-base": base,
        "_agree": "on",
    }


def returned_application(client: FlaskClient, app: Flask) -> str:
    files = {"id_card": (io.BytesIO(PNG), "身份证.png")}
    number = submit(client, SERVICE, opening(), files)
    decide(app, number, "return", "缴存基数与工资表不符，请改为6500元")
    return number


def revise(client: FlaskClient, number: str) -> Any:
    page = client.get(f"/unit/applications/{number}")
    return client.post(
        f"/unit/applications/{number}/revise", data={"csrf_token": csrf_token(page)}
    )


def stored(app: Flask, number: str) -> dict[str, Any]:
    with app.extensions["hall"].session_factory() as session:
        found = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        return {
            "status": found.status,
            "revises": found.revises,
            "revision": found.revision,
            "data": found.data,
            "attachments": [item.original_name for item in found.attachments],
        }


def test_returned_page_offers_correction(unit_client: FlaskClient, app: Flask) -> None:
    number = returned_application(unit_client, app)
    page = parse(unit_client.get(f"/unit/applications/{number}"))
    assert page.find(id="application-status").get_text() == "退回"
    comment = page.find(id="application-comment").get_text()
    assert comment == "缴存基数与工资表不符，请改为6500元"
    assert page.find("button", string="修改后重新提交") is not None
    help_text = page.find(id="revise-help").get_text()
    assert "重新提交时生成新的申报编号，作为本申报的第2版重新审核" in help_text


def test_correction_submitted_as_new_revision(
    unit_client: FlaskClient, app: Flask
) -> None:
    number = returned_application(unit_client, app)
    form = parse(revise(unit_client, number))
    # The form comes back filled in, with the attachment already in the draft.
    assert form.find(id="f-employees-0-id_number")["value"] == NEW_ID
    assert form.find(id="f-employees-0-base")["value"] == "6000"
    assert "身份证.png" in form.find(id="att-id_card").get_text()
    notice = form.select_one("p.notice").get_text()
    assert f"正在修改退回的申报 {number}" in notice
    assert f"提交后生成新的申报编号，作为申报 {number} 的第2版重新审核" in notice
    token = form.find(id="draft-token")["value"]

    data = {**opening("6500"), "_draft": token}
    review = post_service(unit_client, SERVICE, data)
    assert review.status_code == 200, errors_of(review)
    new_number = confirm(unit_client, SERVICE, review)
    assert new_number != number

    revised = stored(app, new_number)
    assert revised["status"] == "submitted"
    assert revised["revises"] == number
    assert revised["revision"] == 2
    assert revised["data"]["employees"][0]["base"] == "6500.00"
    assert revised["attachments"] == ["身份证.png"]
    assert stored(app, number)["status"] == "returned"

    detail = parse(unit_client.get(f"/unit/applications/{new_number}"))
    assert detail.find(id="application-revision").get_text(" ", strip=True) == (
        f"第2版，修改自 {number}"
    )
    old = parse(unit_client.get(f"/unit/applications/{number}"))
    assert new_number in old.find(id="application-revised-by").get_text()
    assert old.find("button", string="修改后重新提交") is None

    decide(app, new_number)
    with app.extensions["hall"].session_factory() as session:
        account = session.scalars(
            select(Account)
            .join(Person, Account.person_id == Person.id)
            .where(Person.id_number == NEW_ID)
        ).one()
        assert str(account.base) == "6500.00"


def test_second_click_reuses_draft(unit_client: FlaskClient, app: Flask) -> None:
    number = returned_application(unit_client, app)
    first = parse(revise(unit_client, number)).find(id="draft-token")["value"]
    second = parse(revise(unit_client, number)).find(id="draft-token")["value"]
    assert first == second


def test_pending_application_cannot_be_revised(
    unit_client: FlaskClient, app: Flask
) -> None:
    files = {"id_card": (io.BytesIO(PNG), "身份证.png")}
    number = submit(unit_client, SERVICE, opening(), files)
    assert revise(unit_client, number).status_code == 404


def test_other_unit_cannot_revise(unit_client: FlaskClient, app: Flask) -> None:
    number = returned_application(unit_client, app)
    other = app.test_client()
    login_unit(other, app, UNIT_B)
    response = other.post(
        f"/unit/applications/{number}/revise",
        data={"csrf_token": csrf_token(other.get("/unit/"))},
    )
    assert response.status_code == 404
    with app.extensions["hall"].session_factory() as session:
        assert session.scalars(
            select(Application).where(Application.revises == number)
        ).first() is None
