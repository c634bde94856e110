"""单位登录密码修改 (unit-password) through the Flask test client."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import UNIT_A, UNIT_B, csrf_token, errors_of, login_unit, parse
from unit_flow import post_service, sms_code

from engine.commands import DEMO_UNIT_PASSWORD
from engine.storage.models import LoginAccount

SERVICE = "unit-password"
URL = f"/unit/{SERVICE}"
NEW_PASSWORD = "Hall#2027new"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def form(client: FlaskClient, app: Flask, **changes: Any) -> dict[str, Any]:
    data = {
        "old_password": DEMO_UNIT_PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_repeat": NEW_PASSWORD,
        "_sms_code": sms_code(client, app, SERVICE),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def password_accepted(app: Flask, password: str, unit_account: str = UNIT_A) -> bool:
    """Try the password step of the unit login; tell whether the password passed."""
    client = app.test_client()
    token = csrf_token(client.get("/unit/login"))
    response = client.post(
        "/unit/login",
        data={
            "csrf_token": token,
            "unit_account": unit_account,
            "password": password,
            "action": "send_code",
        },
    )
    return "账号或密码错误" not in errors_of(response)


def epoch(app: Flask, unit_account: str = UNIT_A) -> int:
    with app.extensions["hall"].session_factory() as session:
        return session.scalars(
            select(LoginAccount.session_epoch).where(
                LoginAccount.hall == "unit", LoginAccount.subject == unit_account
            )
        ).one()


def test_change_password_ends_other_sessions(
    unit_client: FlaskClient, app: Flask
) -> None:
    # A second session of the same unit, as another browser holding its cookie.
    other = app.test_client()
    cookie = unit_client.get_cookie("session")
    assert cookie is not None
    other.set_cookie("session", cookie.value)
    unit_b = app.test_client()
    login_unit(unit_b, app, UNIT_B)
    assert other.get("/unit/unit-info").status_code == 200

    response = post_service(unit_client, SERVICE, form(unit_client, app))
    assert response.status_code == 200, errors_of(response)
    page = parse(response)
    assert page.select_one("p.notice").get_text() == (
        "登录密码已修改，本单位的其他登录已退出。"
    )
    # No password is ever sent back to the browser.
    assert NEW_PASSWORD not in response.get_data(as_text=True)
    assert epoch(app) == 1

    # The session that changed it goes on; the unit's other session has ended.
    assert unit_client.get("/unit/unit-info").status_code == 200
    ended = other.get("/unit/unit-info")
    assert ended.status_code == 302
    assert "/unit/login" in ended.headers["Location"]
    # Another unit's session is not touched.
    assert unit_b.get("/unit/unit-info").status_code == 200

    assert not password_accepted(app, DEMO_UNIT_PASSWORD)
    assert password_accepted(app, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # The old password is wrong.
        ({"old_password": "Wrong#2026"}, "原密码不正确"),
        # The repeat differs.
        ({"new_password_repeat": "Hall#2027neW"}, "两次输入的新密码不一致"),
        # Seven characters.
        (
            {"new_password": "Ab#1234", "new_password_repeat": "Ab#1234"},
            "新密码至少8个字符",
        ),
        # Only lower-case letters and digits.
        (
            {"new_password": "hall20270", "new_password_repeat": "hall20270"},
            "新密码须包含大写字母、小写字母、数字和符号中的至少三种",
        ),
        # The unit account inside the password.
        (
            {"new_password": f"A#{UNIT_A}", "new_password_repeat": f"A#{UNIT_A}"},
            "新密码不能包含登录账号",
        ),
        # The same as the old one.
        (
            {
                "new_password": DEMO_UNIT_PASSWORD,
                "new_password_repeat": DEMO_UNIT_PASSWORD,
            },
            "新密码不能与原密码相同",
        ),
        # No SMS code.
        ({"_sms_code": None}, "请输入短信验证码"),
        # A wrong SMS code.
        ({"_sms_code": "000000"}, "短信验证码错误或已过期"),
        # No old password.
        ({"old_password": ""}, "请填写原密码"),
    ],
)
def test_rejects_bad_input(
    unit_client: FlaskClient, app: Flask, changes: dict[str, Any], expected: str
) -> None:
    response = post_service(unit_client, SERVICE, form(unit_client, app, **changes))
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages
    assert epoch(app) == 0
    assert password_accepted(app, DEMO_UNIT_PASSWORD)


def test_password_fields_render_empty(unit_client: FlaskClient, app: Flask) -> None:
    data = form(unit_client, app, new_password_repeat="Other#2027")
    response = post_service(unit_client, SERVICE, data)
    page = parse(response)
    for name in ("old_password", "new_password", "new_password_repeat"):
        field = page.find(id=f"f-{name}")
        assert field["type"] == "password"
        assert field["value"] == ""


def test_other_unit_password_untouched(unit_client: FlaskClient, app: Flask) -> None:
    data = form(unit_client, app, unit_account=UNIT_B, subject=UNIT_B)
    response = post_service(unit_client, SERVICE, data)
    assert response.status_code == 200, errors_of(response)
    assert epoch(app, UNIT_B) == 0
    assert password_accepted(app, DEMO_UNIT_PASSWORD, UNIT_B)
