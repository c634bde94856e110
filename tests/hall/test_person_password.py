"""登录密码修改 (person-password): strength, wrong old password, other sessions."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from person_support import DEMO_ACCOUNT
from support import csrf_token, errors_of, login_person, parse

from engine.commands import DEMO_PERSON_PASSWORD

URL = "/person/person-password"
NEW = "Hpf#2026new"


def post(client: FlaskClient, **changes: Any) -> Any:
    data = {
        "old_password": DEMO_PERSON_PASSWORD,
        "new_password": NEW,
        "new_password_repeat": NEW,
    }
    data.update(changes)
    return client.post(URL, data={"csrf_token": csrf_token(client.get(URL)), **data})


def log_in(client: FlaskClient, password: str) -> int:
    token = csrf_token(client.get("/person/login"))
    response = client.post(
        "/person/login",
        data={"csrf_token": token, "login_id": DEMO_ACCOUNT, "password": password},
    )
    return response.status_code


@pytest.fixture
def depositor(client: FlaskClient) -> FlaskClient:
    login_person(client, DEMO_ACCOUNT)
    return client


def test_password_changed(app: Flask, depositor: FlaskClient) -> None:
    other_device = app.test_client()
    assert log_in(other_device, DEMO_PERSON_PASSWORD) == 302

    response = post(depositor)
    assert response.status_code == 200, errors_of(response)
    assert "登录密码已修改" in parse(response).select_one(".notice").get_text()
    # No password is sent back to the browser.
    for field in parse(response).select("input[type=password]"):
        assert field["value"] == ""
    # This session goes on; the other device's session has ended.
    assert depositor.get("/person/person-account").status_code == 200
    assert other_device.get("/person/person-account").status_code == 302

    fresh = app.test_client()
    assert log_in(fresh, DEMO_PERSON_PASSWORD) == 400
    assert log_in(fresh, NEW) == 302


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"old_password": "Wrong#2026"}, "原密码不正确"),
        ({"old_password": ""}, "请填写原密码"),
        # Too short for the form's own check.
        ({"new_password": "Ab#1", "new_password_repeat": "Ab#1"}, "新密码至少8个字符"),
        # Long enough, but only lower-case letters and digits.
        (
            {"new_password": "abcdefgh1", "new_password_repeat": "abcdefgh1"},
            "新密码须包含大写字母、小写字母、数字和符号中的至少三种",
        ),
        ({"new_password_repeat": NEW + "x"}, "再次输入新密码与新密码不一致"),
        (
            {
                "new_password": DEMO_PERSON_PASSWORD,
                "new_password_repeat": DEMO_PERSON_PASSWORD,
            },
            "新密码不能与原密码相同",
        ),
        (
            {
                "new_password": f"A#{DEMO_ACCOUNT}",
                "new_password_repeat": f"A#{DEMO_ACCOUNT}",
            },
            "新密码不能包含登录账号",
        ),
    ],
)
def test_password_rejects(
    depositor: FlaskClient, changes: dict[str, str], expected: str
) -> None:
    response = post(depositor, **changes)
    assert response.status_code == 400
    assert expected in errors_of(response)
    assert log_in(depositor, DEMO_PERSON_PASSWORD) == 302


def test_wrong_old_password_counts_as_failure(depositor: FlaskClient) -> None:
    for _attempt in range(5):
        post(depositor, old_password="Wrong#2026")
    fresh = depositor.application.test_client()
    assert log_in(fresh, DEMO_PERSON_PASSWORD) == 400
    # Even the right old password is refused until the window has passed.
    response = post(depositor)
    assert "密码错误次数过多，请15分钟后再试" in errors_of(response)


def test_login_required(client: FlaskClient) -> None:
    token = csrf_token(client.get("/person/login"))
    data = {"csrf_token": token, "old_password": DEMO_PERSON_PASSWORD}
    response = client.post(URL, data={**data, "new_password": NEW})
    assert response.status_code == 302
    assert "/person/login" in response.headers["Location"]
    assert log_in(client, DEMO_PERSON_PASSWORD) == 302
