"""忘记密码 (person-forgot-password): reset without a login, revealing nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from person_support import DEMO_ACCOUNT, core_session
from sqlalchemy import func, select
from support import csrf_token, errors_of, latest_sms_code, login_person, parse

from connectors.embedded.demo_data import DEMO_ID_NUMBER, DEMO_MOBILE, DEMO_NAME
from engine.commands import DEMO_PERSON_PASSWORD
from engine.storage.models import SmsCode, SmsMessage

URL = "/person/public/person-forgot-password"
NEW = "Hpf#2026new"
# A valid ID number that belongs to nobody in the demo data.
UNKNOWN_ID = "11010519900101007X"


def post(client: FlaskClient, **data: str) -> Any:
    token = csrf_token(client.get(URL))
    return client.post(URL, data={"csrf_token": token, **data})


def second_step(id_number: str = DEMO_ID_NUMBER, **data: str) -> dict[str, str]:
    return {
        "_step": "1",
        "id_number": id_number,
        "name": DEMO_NAME,
        "mobile": DEMO_MOBILE,
        "new_password": NEW,
        "new_password_repeat": NEW,
        **data,
    }


def messages_sent(app: Flask) -> int:
    with core_session(app) as session:
        return session.scalar(select(func.count()).select_from(SmsMessage))


def age_codes(app: Flask) -> None:
    with core_session(app) as session:
        for code in session.scalars(select(SmsCode)):
            code.created_at -= dt.timedelta(minutes=2)
        session.commit()


def log_in(client: FlaskClient, password: str) -> int:
    token = csrf_token(client.get("/person/login"))
    return client.post(
        "/person/login",
        data={"csrf_token": token, "login_id": DEMO_ACCOUNT, "password": password},
    ).status_code


def test_reset_end_to_end(app: Flask, client: FlaskClient) -> None:
    login_page = parse(client.get("/person/login"))
    assert login_page.find("a", string="忘记密码")["href"] == URL

    first = post(client, _step="0", _action="next", id_number=DEMO_ID_NUMBER)
    assert first.status_code == 200
    page = parse(first)
    assert page.find(id="f-name") is not None
    assert page.find("input", attrs={"name": "id_number", "type": "hidden"})

    sent = post(client, **second_step(_action="send_code"))
    notice = parse(sent).select_one(".notice").get_text()
    assert "138****" not in notice
    assert DEMO_MOBILE[-4:] in notice
    code = latest_sms_code(app)

    done = post(client, **second_step(_action="submit", _sms_code=code))
    assert done.status_code == 200, errors_of(done)
    assert "密码已重设" in parse(done).select_one(".notice").get_text()
    assert log_in(app.test_client(), DEMO_PERSON_PASSWORD) == 400
    assert log_in(app.test_client(), NEW) == 302


def test_unknown_id_looks_the_same(app: Flask, client: FlaskClient) -> None:
    known = post(client, _step="0", _action="next", id_number=DEMO_ID_NUMBER)
    unknown = post(client, _step="0", _action="next", id_number=UNKNOWN_ID)
    assert known.status_code == unknown.status_code == 200
    assert parse(unknown).find(id="f-name") is not None

    before = messages_sent(app)
    sent = post(client, **second_step(UNKNOWN_ID, _action="send_code"))
    assert messages_sent(app) == before
    expected = parse(post(client, **second_step(_action="send_code")))
    assert (
        parse(sent).select_one(".notice").get_text()
        == expected.select_one(".notice").get_text()
    )

    failed = post(
        client, **second_step(UNKNOWN_ID, _action="submit", _sms_code="123456")
    )
    wrong_name = post(
        client, **second_step(name="李四", _action="submit", _sms_code="123456")
    )
    assert errors_of(failed) == errors_of(wrong_name)
    assert failed.status_code == wrong_name.status_code == 400


def test_wrong_details_send_no_code(app: Flask, client: FlaskClient) -> None:
    before = messages_sent(app)
    post(client, **second_step(mobile="13800000000", _action="send_code"))
    post(client, **second_step(name="李四", _action="send_code"))
    assert messages_sent(app) == before


def test_weak_password_keeps_code(app: Flask, client: FlaskClient) -> None:
    post(client, **second_step(_action="send_code"))
    code = latest_sms_code(app)
    weak = post(
        client,
        **second_step(
            new_password="abcdefgh1",
            new_password_repeat="abcdefgh1",
            _action="submit",
            _sms_code=code,
        ),
    )
    assert weak.status_code == 400
    assert any("至少三种" in message for message in errors_of(weak))
    done = post(client, **second_step(_action="submit", _sms_code=code))
    assert done.status_code == 200, errors_of(done)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"_step": "0", "id_number": "110105199001010011"}, "证件号码"),
        ({"_step": "0", "id_number": ""}, "请填写证件号码"),
        (second_step(name=""), "请填写姓名"),
        (second_step(mobile="12345"), "注册手机号码"),
        (second_step(new_password_repeat="Other#2026"), "再次输入新密码与新密码不一致"),
        (second_step(_sms_code="12ab"), "短信验证码应为6位数字"),
    ],
)
def test_forgot_password_rejects(
    client: FlaskClient, data: dict[str, str], expected: str
) -> None:
    action = "next" if data.get("_step") == "0" else "submit"
    response = post(client, _action=action, **{"_sms_code": "", **data})
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages


def test_failures_are_throttled(app: Flask, client: FlaskClient) -> None:
    for _attempt in range(5):
        post(client, **second_step(_action="submit", _sms_code="000000"))
    post(client, **second_step(_action="send_code"))
    code = latest_sms_code(app)
    blocked = post(client, **second_step(_action="submit", _sms_code=code))
    assert blocked.status_code == 429
    assert "尝试次数过多，请15分钟后再试" in errors_of(blocked)
    assert log_in(app.test_client(), DEMO_PERSON_PASSWORD) == 302


def test_not_in_menu_nor_hall_route(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    menu = client.get("/person/").get_data(as_text=True)
    assert "person-forgot-password" not in menu
    assert client.get("/person/person-forgot-password").status_code == 404
