"""实名认证 (unit-identity) through the Flask test client."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import UNIT_A, UNIT_B, errors_of, login_unit, parse
from unit_flow import post_service, sms_code

from connectors.embedded.models import Account, Person, Unit
from engine.storage.models import AuditEntry, IdentityVerification

SERVICE = "unit-identity"
URL = f"/unit/{SERVICE}"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def handler(app: Flask, unit_account: str = UNIT_A) -> tuple[Person, str]:
    with app.extensions["hall"].session_factory() as session:
        unit = session.scalars(
            select(Unit).where(Unit.unit_account == unit_account)
        ).one()
        person = session.scalars(
            select(Person)
            .join(Account, Account.person_id == Person.id)
            .where(Account.person_account == unit.handler_person_account)
        ).one()
        return person, unit.handler_person_account or ""


def value(page: Any, name: str) -> str:
    return page.find(id=f"f-{name}")["value"]


def test_page_shows_handler_masked(unit_client: FlaskClient, app: Flask) -> None:
    person, person_account = handler(app)
    response = unit_client.get(URL)
    page = parse(response)
    assert value(page, "handler_name") == person.name
    masked = person.id_number[:6] + "********" + person.id_number[-4:]
    assert value(page, "handler_id_number") == masked
    masked_mobile = person.mobile[:3] + "****" + person.mobile[-4:]
    assert value(page, "handler_mobile") == masked_mobile
    assert value(page, "person_account") == person_account
    assert value(page, "status") == "未认证"
    assert person.id_number not in response.get_data(as_text=True)
    assert "网上办事大厅实名认证协议" in page.get_text()


def test_verification_recorded(unit_client: FlaskClient, app: Flask) -> None:
    _person, person_account = handler(app)
    data = {"_agree": "on", "_sms_code": sms_code(unit_client, app, SERVICE)}
    response = post_service(unit_client, SERVICE, data)
    assert response.status_code == 200, errors_of(response)
    page = parse(response)
    assert page.select_one("p.notice").get_text() == "实名认证已完成。"
    assert value(page, "status") == "已认证"
    assert value(page, "verified_person_account") == person_account
    with app.extensions["hall"].session_factory() as session:
        record = session.scalars(select(IdentityVerification)).one()
        assert (record.hall, record.subject) == ("unit", UNIT_A)
        assert record.person_account == person_account
        assert record.agreement == "unit-identity@1"
        actions = session.scalars(select(AuditEntry.action)).all()
        assert "identity" in actions

    other = app.test_client()
    login_unit(other, app, UNIT_B)
    assert value(parse(other.get(URL)), "status") == "未认证"


def test_new_handler_must_verify_again(unit_client: FlaskClient, app: Flask) -> None:
    data = {"_agree": "on", "_sms_code": sms_code(unit_client, app, SERVICE)}
    assert post_service(unit_client, SERVICE, data).status_code == 200
    with app.extensions["hall"].session_factory() as session:
        unit = session.scalars(select(Unit).where(Unit.unit_account == UNIT_A)).one()
        unit.handler_person_account = "020100000001"
        session.commit()
    page = parse(unit_client.get(URL))
    assert value(page, "person_account") == "020100000001"
    assert value(page, "status") == "未认证"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # The agreement not accepted.
        ({"_sms_code": "123456"}, "请阅读并同意《网上办事大厅实名认证协议》"),
        # No SMS code.
        ({"_agree": "on"}, "请输入短信验证码"),
        # A code that was never sent.
        ({"_agree": "on", "_sms_code": "123456"}, "短信验证码错误或已过期"),
    ],
)
def test_rejects_missing_consent(
    unit_client: FlaskClient, app: Flask, data: dict[str, str], expected: str
) -> None:
    response = post_service(unit_client, SERVICE, data)
    assert response.status_code == 400
    assert any(expected in message for message in errors_of(response))
    with app.extensions["hall"].session_factory() as session:
        assert session.scalars(select(IdentityVerification)).first() is None


def test_forged_person_account_ignored(unit_client: FlaskClient, app: Flask) -> None:
    _person, person_account = handler(app)
    data = {
        "_agree": "on",
        "_sms_code": sms_code(unit_client, app, SERVICE),
        "person_account": "020100000099",
    }
    assert post_service(unit_client, SERVICE, data).status_code == 200
    with app.extensions["hall"].session_factory() as session:
        record = session.scalars(select(IdentityVerification)).one()
        assert record.person_account == person_account
