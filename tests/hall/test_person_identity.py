"""实名认证 (person-identity): own details shown masked, SMS code, verified once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from person_support import DEMO_ACCOUNT, core_session, give_login, renter
from sqlalchemy import select
from support import csrf_token, errors_of, latest_sms_code, login_person, parse

from connectors.embedded.models import Account, Person
from engine.clock import business_date
from engine.storage.models import SmsCode

URL = "/person/person-identity"


def person_of(app: Flask, person_account: str) -> Person:
    with core_session(app) as session:
        return session.scalars(
            select(Person)
            .join(Account, Account.person_id == Person.id)
            .where(Account.person_account == person_account)
        ).one()


def send_code(client: FlaskClient) -> Any:
    token = csrf_token(client.get(URL))
    return client.post(URL, data={"csrf_token": token, "_action": "send_code"})


def submit(client: FlaskClient, **data: str) -> Any:
    return client.post(URL, data={"csrf_token": csrf_token(client.get(URL)), **data})


@pytest.fixture
def depositor(client: FlaskClient) -> FlaskClient:
    login_person(client, DEMO_ACCOUNT)
    return client


def test_verification_marks_person(app: Flask, depositor: FlaskClient) -> None:
    person = person_of(app, DEMO_ACCOUNT)
    page = parse(depositor.get(URL))
    assert page.find(id="f-name")["value"] == person.name
    assert page.find(id="f-id_number_masked")["value"] == "440203********021X"
    assert page.find(id="f-mobile_masked")["value"] == (
        person.mobile[:3] + "****" + person.mobile[-4:]
    )
    assert page.find(id="f-verified_label")["value"] == "未认证"
    assert person.id_number not in depositor.get(URL).get_data(as_text=True)

    notice = parse(send_code(depositor)).select_one(".notice").get_text()
    assert person.mobile[-4:] in notice
    response = submit(depositor, _agree="on", _sms_code=latest_sms_code(app))
    assert response.status_code == 200, errors_of(response)
    assert "实名认证已完成" in parse(response).select_one(".notice").get_text()
    assert person_of(app, DEMO_ACCOUNT).verified_on == business_date()
    label = parse(depositor.get(URL)).find(id="f-verified_label")["value"]
    assert label == f"已认证（{business_date().isoformat()}）"


def test_second_verification_refused(app: Flask, depositor: FlaskClient) -> None:
    send_code(depositor)
    submit(depositor, _agree="on", _sms_code=latest_sms_code(app))
    with core_session(app) as session:
        for code in session.scalars(select(SmsCode)):
            code.created_at -= dt.timedelta(minutes=2)
        session.commit()
    send_code(depositor)
    response = submit(depositor, _agree="on", _sms_code=latest_sms_code(app))
    assert response.status_code == 400
    assert any("已于" in message for message in errors_of(response))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"_sms_code": "SENT"}, "请阅读并同意《实名认证协议》"),
        ({"_agree": "on"}, "请输入短信验证码（点击“获取验证码”）"),
        ({"_agree": "on", "_sms_code": "000000"}, "短信验证码错误或已过期，请重新获取"),
    ],
)
def test_identity_rejects(
    app: Flask, depositor: FlaskClient, data: dict[str, str], expected: str
) -> None:
    send_code(depositor)
    if data.get("_sms_code") == "SENT":
        data = {**data, "_sms_code": latest_sms_code(app)}
    response = submit(depositor, **data)
    assert response.status_code == 400
    assert expected in errors_of(response)
    assert person_of(app, DEMO_ACCOUNT).verified_on is None


def test_forged_identity_ignored(app: Flask, client: FlaskClient) -> None:
    other = renter(app).person_account
    give_login(app, other)
    login_person(client, DEMO_ACCOUNT)
    send_code(client)
    data = {"_agree": "on", "_sms_code": latest_sms_code(app)}
    response = submit(client, **data, person_account=other, name="冒名")
    assert response.status_code == 200, errors_of(response)
    assert person_of(app, other).verified_on is None
    assert person_of(app, DEMO_ACCOUNT).verified_on == business_date()
