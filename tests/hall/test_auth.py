"""Tests of the unit, person and session logins through the Flask test client."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner
from sqlalchemy import delete, func, select, update
from support import (
    UNIT_A,
    UNIT_B,
    csrf_token,
    errors_of,
    latest_sms_code,
    login_person,
    login_unit,
    parse,
)
from werkzeug.security import check_password_hash
from werkzeug.test import TestResponse

from connectors.embedded.demo_data import DEMO_ID_NUMBER, demo_identities
from engine import create_app
from engine.auth import LOGIN_FAILED, MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS
from engine.commands import (
    DEMO_PERSON_PASSWORD,
    DEMO_STAFF_PASSWORD,
    DEMO_UNIT_PASSWORD,
)
from engine.sms import MAX_TRIES
from engine.storage.models import (
    LoginAccount,
    LoginAttempt,
    SmsCode,
    SmsMessage,
    utcnow,
)

DEMO_ACCOUNT = "020100000001"
UNKNOWN_UNIT = "0299999999"
LOCKED = "登录失败次数过多，请15分钟后再试"
WRONG_CODE = "短信验证码错误或已过期，请重新获取"


def _db(app: Flask) -> Any:
    return app.extensions["hall"].session_factory()


def _sms_count(app: Flask) -> int:
    with _db(app) as session:
        return session.scalar(select(func.count()).select_from(SmsMessage))


def _unit_post(
    client: FlaskClient,
    action: str,
    unit_account: str = UNIT_A,
    password: str = DEMO_UNIT_PASSWORD,
    **extra: str,
) -> TestResponse:
    token = csrf_token(client.get("/unit/login"))
    form = {
        "csrf_token": token,
        "unit_account": unit_account,
        "password": password,
        "action": action,
        **extra,
    }
    return client.post("/unit/login", data=form)


def _person_post(client: FlaskClient, login_id: str, password: str) -> TestResponse:
    token = csrf_token(client.get("/person/login"))
    form = {"csrf_token": token, "login_id": login_id, "password": password}
    return client.post("/person/login", data=form)


def _wrong_code(app: Flask) -> str:
    return "000000" if latest_sms_code(app) != "000000" else "111111"


def _other_person(app: Flask) -> dict[str, Any]:
    """Return a demo depositor of the second unit, who is not the well-known one."""
    with _db(app) as session:
        persons = demo_identities(session)["persons"]
    return persons[2]


# Unit login ---------------------------------------------------------------------------


def test_unit_login_happy_path(app: Flask, client: FlaskClient) -> None:
    with _db(app) as session:
        handler_mobile = demo_identities(session)["units"][0]["handler_mobile"]

    sent = _unit_post(client, "send_code")
    assert sent.status_code == 200
    assert handler_mobile[-4:] in parse(sent).select_one("p.notice").get_text()
    with _db(app) as session:
        message = session.scalars(select(SmsMessage)).one()
    assert message.mobile == handler_mobile

    done = _unit_post(client, "login", sms_code=latest_sms_code(app))
    assert done.status_code == 302
    assert done.headers["Location"] == "/unit/"
    home = client.get("/unit/")
    assert home.status_code == 200
    assert UNIT_A in parse(home).select_one(".who").get_text()


@pytest.mark.parametrize(
    ("unit_account", "password", "action"),
    [
        (UNIT_A, "Wrong@2026", "send_code"),  # known account, wrong password
        (UNIT_A, "Wrong@2026", "login"),  # the same on the login button
        (UNKNOWN_UNIT, DEMO_UNIT_PASSWORD, "send_code"),  # unknown account
        (UNKNOWN_UNIT, DEMO_UNIT_PASSWORD, "login"),  # unknown account, login button
    ],
)
def test_unit_login_generic_failure(
    app: Flask, client: FlaskClient, unit_account: str, password: str, action: str
) -> None:
    response = _unit_post(client, action, unit_account, password, sms_code="123456")
    assert response.status_code == 400
    assert errors_of(response) == [LOGIN_FAILED]
    assert _sms_count(app) == 0
    assert client.get("/unit/").status_code == 302


def test_unit_code_button_in_place(client: FlaskClient) -> None:
    token = csrf_token(client.get("/unit/login"))
    form = {
        "csrf_token": token,
        "unit_account": UNIT_A,
        "password": "Wrong@2026",
        "action": "send_code",
    }
    failed = client.post("/unit/login", data=form, headers={"HX-Request": "true"})
    assert failed.status_code == 200
    assert errors_of(failed) == [LOGIN_FAILED]

    form["password"] = DEMO_UNIT_PASSWORD
    sent = client.post("/unit/login", data=form, headers={"HX-Request": "true"})
    assert sent.status_code == 200
    assert "验证码已发送" in parse(sent).select_one("#login-status p.notice").get_text()


def test_unit_login_bad_account_text(client: FlaskClient) -> None:
    response = _unit_post(client, "send_code", unit_account="02010000x1")
    assert response.status_code == 400
    assert errors_of(response) == ["请输入单位账号（数字）"]


def test_unit_login_wrong_sms_code(app: Flask, client: FlaskClient) -> None:
    _unit_post(client, "send_code")
    response = _unit_post(client, "login", sms_code=_wrong_code(app))
    assert response.status_code == 400
    assert errors_of(response) == [WRONG_CODE]
    assert client.get("/unit/").status_code == 302


def test_unit_login_expired_sms_code(app: Flask, client: FlaskClient) -> None:
    _unit_post(client, "send_code")
    with _db(app) as session:
        session.execute(
            update(SmsCode).values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
        session.commit()
    response = _unit_post(client, "login", sms_code=latest_sms_code(app))
    assert response.status_code == 400
    assert errors_of(response) == [WRONG_CODE]


def test_unit_login_code_tries_limited(app: Flask, client: FlaskClient) -> None:
    _unit_post(client, "send_code")
    right = latest_sms_code(app)
    wrong = _wrong_code(app)
    for _ in range(MAX_TRIES):
        _unit_post(client, "login", sms_code=wrong)
    # Forget the failed logins, so only the code's own limit can reject the right code.
    with _db(app) as session:
        session.execute(delete(LoginAttempt))
        session.commit()
    response = _unit_post(client, "login", sms_code=right)
    assert response.status_code == 400
    assert errors_of(response) == [WRONG_CODE]


def test_unit_login_code_resend_throttled(app: Flask, client: FlaskClient) -> None:
    _unit_post(client, "send_code")
    again = _unit_post(client, "send_code")
    assert again.status_code == 400
    assert errors_of(again) == ["验证码已发送，请60秒后再试"]
    assert _sms_count(app) == 1


# Throttling ---------------------------------------------------------------------------


def test_unit_login_locked_after_failures(app: Flask, client: FlaskClient) -> None:
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        _unit_post(client, "send_code", password="Wrong@2026")
    locked = _unit_post(client, "send_code")
    assert locked.status_code == 400
    assert errors_of(locked) == [LOCKED]
    assert _sms_count(app) == 0
    # The lock is per account: another unit still logs in from the same address.
    assert _unit_post(client, "send_code", unit_account=UNIT_B).status_code == 200


def test_login_throttled_per_address(app: Flask, client: FlaskClient) -> None:
    client.environ_base["REMOTE_ADDR"] = "127.0.0.7"
    for number in range(MAX_FAILURES_PER_ADDRESS):
        _unit_post(client, "send_code", unit_account=f"02990000{number:02d}")

    locked = _unit_post(client, "send_code")
    assert locked.status_code == 400
    assert errors_of(locked) == [LOCKED]
    person = _person_post(client, DEMO_ID_NUMBER, DEMO_PERSON_PASSWORD)
    assert errors_of(person) == [LOCKED]

    client.environ_base["REMOTE_ADDR"] = "127.0.0.8"
    assert _unit_post(client, "send_code").status_code == 200


def test_person_lock_spans_login_ids(client: FlaskClient) -> None:
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        _person_post(client, DEMO_ID_NUMBER, "Wrong@2026")
    # The same depositor by account number is the same account, so it stays locked.
    response = _person_post(client, DEMO_ACCOUNT, DEMO_PERSON_PASSWORD)
    assert response.status_code == 400
    assert errors_of(response) == [LOCKED]


# Person login -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "login_id",
    [
        DEMO_ID_NUMBER,  # ID number as stored, upper-case X
        DEMO_ID_NUMBER.lower(),  # lower-case x is normalised
        f"  {DEMO_ID_NUMBER}  ",  # spaces around are stripped
        DEMO_ACCOUNT,  # personal account number
    ],
)
def test_person_login_ids(client: FlaskClient, login_id: str) -> None:
    response = _person_post(client, login_id, DEMO_PERSON_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/person/"
    with client.session_transaction() as session:
        assert session["person_account"] == DEMO_ACCOUNT
    assert client.get("/person/").status_code == 200


@pytest.mark.parametrize(
    ("login_id", "password"),
    [
        (DEMO_ID_NUMBER, "Wrong@2026"),  # known ID number, wrong password
        (DEMO_ACCOUNT, "Wrong@2026"),  # known account number, wrong password
        # a valid ID number without an account
        ("11010519491231002X", DEMO_PERSON_PASSWORD),
        ("029999999999", DEMO_PERSON_PASSWORD),  # unknown account number
    ],
)
def test_person_login_generic_failure(
    client: FlaskClient, login_id: str, password: str
) -> None:
    response = _person_post(client, login_id, password)
    assert response.status_code == 400
    assert errors_of(response) == [LOGIN_FAILED]
    assert client.get("/person/").status_code == 302


# Sessions -----------------------------------------------------------------------------


def _move_signer_clock(monkeypatch: pytest.MonkeyPatch, minutes: int) -> None:
    """Make the session cookie signer read a clock `minutes` ahead of the real one."""
    real = TimestampSigner.get_timestamp

    def ahead(self: TimestampSigner) -> int:
        return real(self) + minutes * 60

    monkeypatch.setattr(TimestampSigner, "get_timestamp", ahead)


def test_session_idle_expiry(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.permanent_session_lifetime == dt.timedelta(minutes=30)
    login_unit(client, app)

    with monkeypatch.context() as clock:
        _move_signer_clock(clock, 20)
        # Each request renews the session cookie, so 40 minutes of activity is fine.
        assert client.get("/unit/").status_code == 200
    with monkeypatch.context() as clock:
        _move_signer_clock(clock, 40)
        assert client.get("/unit/").status_code == 200
    with monkeypatch.context() as clock:
        _move_signer_clock(clock, 71)
        idle = client.get("/unit/")
    assert idle.status_code == 302
    assert idle.headers["Location"].startswith("/unit/login")


@pytest.mark.parametrize(
    ("age", "status"),
    [
        (dt.timedelta(hours=7, minutes=59), 200),  # just inside the 8-hour limit
        (dt.timedelta(hours=8, minutes=1), 302),  # just past it, however active
    ],
)
def test_session_absolute_age(
    app: Flask, client: FlaskClient, age: dt.timedelta, status: int
) -> None:
    login_unit(client, app)
    with client.session_transaction() as session:
        session["login_at"] = (utcnow() - age).timestamp()
    assert client.get("/unit/").status_code == status


def test_session_epoch_ends_session(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    assert client.get("/unit/").status_code == 200
    with _db(app) as session:
        session.execute(
            update(LoginAccount)
            .where(LoginAccount.hall == "unit", LoginAccount.subject == UNIT_A)
            .values(session_epoch=LoginAccount.session_epoch + 1)
        )
        session.commit()
    response = client.get("/unit/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/unit/login")


def test_logout_ends_session(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    home = client.get("/unit/")
    old_cookie = client.get_cookie("session")
    assert old_cookie is not None

    done = client.post("/logout", data={"csrf_token": csrf_token(home)})
    assert done.status_code == 302
    assert done.headers["Location"] == "/"
    assert client.get("/unit/").status_code == 302
    # A copy of the cookie taken before logging out must not work either.
    client.set_cookie("session", old_cookie.value)
    assert client.get("/unit/").status_code == 302


def test_logout_requires_csrf_post(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/unit/").status_code == 200


# CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "data", "headers"),
    [
        # plain form posts without a token
        ("/unit/login", {"unit_account": UNIT_A, "password": DEMO_UNIT_PASSWORD}, {}),
        ("/person/login", {"login_id": DEMO_ACCOUNT, "password": "x"}, {}),
        ("/staff/login", {"staff_id": "reviewer", "password": DEMO_STAFF_PASSWORD}, {}),
        ("/logout", {}, {}),
        # htmx posts without an X-CSRFToken header
        ("/sms/send", {"purpose": "unit-open-account"}, {"HX-Request": "true"}),
        ("/unit/unit-open-account/calc", {}, {"HX-Request": "true"}),
        ("/unit/unit-open-account/rows/employees/add", {}, {"HX-Request": "true"}),
        # a forged token
        ("/logout", {"csrf_token": "forged"}, {}),
        (
            "/unit/unit-open-account/calc",
            {},
            {"HX-Request": "true", "X-CSRFToken": "forged"},
        ),
    ],
)
def test_post_without_csrf_rejected(
    app: Flask,
    client: FlaskClient,
    url: str,
    data: dict[str, str],
    headers: dict[str, str],
) -> None:
    login_unit(client, app)
    assert client.post(url, data=data, headers=headers).status_code == 400


def test_htmx_post_with_csrf_header(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    token = csrf_token(client.get("/unit/unit-open-account"))
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    response = client.post("/unit/unit-open-account/calc", headers=headers)
    assert response.status_code == 200


# Redirects and hall boundaries --------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("//evil.example", "/unit/"),  # protocol-relative URL
        ("https://evil.example", "/unit/"),  # absolute URL
        ("https:evil.example", "/unit/"),  # scheme without slashes
        ("/\\evil.example", "/unit/"),  # browsers read a backslash as a slash
        ("/\t/evil.example", "/unit/"),  # browsers drop tabs, leaving //evil.example
        ("/\n/evil.example", "/unit/"),  # the same with a newline
        (" //evil.example", "/unit/"),  # leading space
        ("evil.example", "/unit/"),  # relative path without a leading slash
        ("/unit/unit-ledger", "/unit/unit-ledger"),  # a page of the hall is kept
    ],
)
def test_login_next_stays_on_site(
    app: Flask, client: FlaskClient, target: str, location: str
) -> None:
    token = csrf_token(client.get("/unit/login"))
    form = {"csrf_token": token, "unit_account": UNIT_A, "password": DEMO_UNIT_PASSWORD}
    query = {"next": target}
    client.post("/unit/login", query_string=query, data={**form, "action": "send_code"})
    form.update(action="login", sms_code=latest_sms_code(app))
    done = client.post("/unit/login", query_string=query, data=form)
    assert done.status_code == 302
    assert done.headers["Location"] == location


def test_person_login_next_stays_on_site(client: FlaskClient) -> None:
    token = csrf_token(client.get("/person/login"))
    form = {
        "csrf_token": token,
        "login_id": DEMO_ACCOUNT,
        "password": DEMO_PERSON_PASSWORD,
    }
    done = client.post("/person/login?next=//evil.example", data=form)
    assert done.headers["Location"] == "/person/"


@pytest.mark.parametrize(
    ("hall", "url", "login"),
    [
        # a depositor in the unit hall
        ("person", "/unit/", "/unit/login?next=/unit/"),
        ("person", "/unit/unit-ledger", "/unit/login?next=/unit/unit-ledger"),
        # a unit in the person hall
        ("unit", "/person/", "/person/login?next=/person/"),
        (
            "unit",
            "/person/person-account",
            "/person/login?next=/person/person-account",
        ),
    ],
)
def test_hall_pages_need_own_login(
    app: Flask, client: FlaskClient, hall: str, url: str, login: str
) -> None:
    if hall == "unit":
        login_unit(client, app)
    else:
        login_person(client, DEMO_ACCOUNT)
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"] == login


def test_other_hall_link_keeps_session(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    for url in ("/person/person-account", "/staff/reviews"):
        assert client.get(url).status_code == 302
    assert client.get("/unit/").status_code == 200


def test_htmx_without_session_redirects(client: FlaskClient) -> None:
    response = client.get("/unit/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/unit/login"


# SMS inbox and stored passwords -------------------------------------------------------


def test_sms_inbox_in_demo_mode(app: Flask, client: FlaskClient) -> None:
    _unit_post(client, "send_code")
    inbox = client.get("/dev/sms")
    assert inbox.status_code == 200
    cells = [cell.get_text() for cell in parse(inbox).select("td.sms-text")]
    assert len(cells) == 1
    assert latest_sms_code(app) in cells[0]
    login_page = parse(client.get("/unit/login"))
    assert login_page.find("a", href="/dev/sms") is not None


def test_sms_inbox_absent_outside_demo(database_url: str, tmp_path: Path) -> None:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "DEMO_MODE": False,
        }
    )
    try:
        client = app.test_client()
        assert client.get("/dev/sms").status_code == 404
        login_page = parse(client.get("/unit/login"))
        assert login_page.find("a", href="/dev/sms") is None
    finally:
        app.extensions["hall"].session_factory.kw["bind"].dispose()


def test_passwords_stored_hashed(app: Flask) -> None:
    passwords = {
        "unit": DEMO_UNIT_PASSWORD,
        "person": DEMO_PERSON_PASSWORD,
        "staff": DEMO_STAFF_PASSWORD,
    }
    with _db(app) as session:
        accounts = session.scalars(select(LoginAccount)).all()
    assert {account.hall for account in accounts} == set(passwords)
    for account in accounts:
        password = passwords[account.hall]
        assert account.password_hash.startswith("scrypt:")
        assert password not in account.password_hash
        assert check_password_hash(account.password_hash, password)


def test_other_depositor_logs_in(app: Flask, client: FlaskClient) -> None:
    other = _other_person(app)
    response = _person_post(client, other["id_number"], DEMO_PERSON_PASSWORD)
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert session["person_account"] == other["person_account"]
