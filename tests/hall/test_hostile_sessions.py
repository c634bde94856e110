"""CSRF on every POST route, reused and stale sessions, and login lock bypasses."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from support import (
    UNIT_A,
    UNIT_B,
    csrf_token,
    errors_of,
    login_person,
    login_staff,
    login_unit,
)
from test_unit_open_account import form as open_form

from connectors.embedded.models import ReviewItem
from engine.auth import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS, set_password
from engine.commands import (
    DEMO_PERSON_PASSWORD,
    DEMO_STAFF_ID,
    DEMO_STAFF_PASSWORD,
    DEMO_UNIT_PASSWORD,
)
from engine.storage.models import (
    Application,
    Attachment,
    AuditEntry,
    LoginAccount,
    LoginAttempt,
    SmsCode,
    SmsMessage,
)

OPEN_URL = "/unit/unit-open-account"
DEMO_ID = "44020319850305021X"
DEMO_ACCOUNT = "020100000001"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
CSRF_MESSAGE = "安全令牌"
LOCKED = "登录失败次数过多，请15分钟后再试"


def stored_state(app: Flask) -> dict[str, Any]:
    """Return counts and statuses of everything a POST could change."""
    with app.extensions["hall"].session_factory() as session:

        def count(model: Any) -> int:
            return session.scalar(select(func.count()).select_from(model))

        return {
            "applications": [
                (item.id, item.status, item.number, item.data)
                for item in session.scalars(
                    select(Application).order_by(Application.id)
                )
            ],
            "attachments": count(Attachment),
            "audit": count(AuditEntry),
            "sms_codes": count(SmsCode),
            "sms_messages": count(SmsMessage),
            "login_attempts": count(LoginAttempt),
            "reviews": [
                (item.application_number, item.status)
                for item in session.scalars(select(ReviewItem).order_by(ReviewItem.id))
            ],
        }


def reviewed_draft(client: FlaskClient) -> str:
    """Take the open-account form to its review page; return the draft token."""
    response = client.post(
        OPEN_URL,
        data={
            "csrf_token": csrf_token(client.get(OPEN_URL)),
            **open_form(),
            "id_card": (io.BytesIO(PNG), "身份证.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, errors_of(response)
    match = re.search(r'name="_draft" value="([^"]+)"', response.get_data(as_text=True))
    assert match
    return match.group(1)


def submitted_number(client: FlaskClient) -> str:
    token = reviewed_draft(client)
    done = client.post(
        f"{OPEN_URL}/confirm",
        data={"csrf_token": csrf_token(client.get(OPEN_URL)), "_draft": token},
    )
    return done.headers["Location"].rsplit("/", 1)[-1]


def foreign_token(app: Flask) -> str:
    """Return a valid CSRF token of another client's session."""
    other = app.test_client()
    return csrf_token(other.get("/unit/login"))


# CSRF ---------------------------------------------------------------------------------

UNIT_ROUTES = [
    ("/unit/unit-open-account", "form"),
    ("/unit/unit-open-account/confirm", "form"),
    ("/unit/unit-open-account/lookup/person", "htmx"),
    ("/unit/unit-open-account/lookup/unit_ratios", "htmx"),
    ("/unit/unit-open-account/calc", "htmx"),
    ("/unit/unit-open-account/rows/employees/add", "htmx"),
    ("/unit/unit-open-account/rows/employees/remove", "htmx"),
    ("/unit/unit-open-account/attachments/id_card", "htmx"),
    ("/unit/unit-base-change", "form"),
    ("/unit/unit-ledger", "form"),
    ("/unit/unit-applications", "form"),
    ("/sms/send", "htmx"),
    ("/logout", "form"),
]
PERSON_ROUTES = [
    ("/person/person-loan-trial", "form"),
    ("/person/person-loan-trial/calc", "htmx"),
    ("/person/person-loan-trial/lookup/profile", "htmx"),
    ("/person/person-account", "form"),
    ("/person/person-ledger", "form"),
    ("/person/person-applications", "form"),
    ("/sms/send", "htmx"),
    ("/logout", "form"),
]
TOKENS = ["missing", "forged", "foreign", "empty", "header-on-form"]


def _csrf_attempt(
    app: Flask, client: FlaskClient, url: str, kind: str, token: str, data: dict
) -> Any:
    headers = {"HX-Request": "true"} if kind == "htmx" else {}
    body = dict(data)
    chosen = {
        "missing": None,
        "forged": "forged-token",
        "foreign": foreign_token(app),
        "empty": "",
        "header-on-form": None,
    }[token]
    if token == "header-on-form":
        headers["X-CSRFToken"] = "forged-token"
    elif chosen is not None:
        if kind == "htmx":
            headers["X-CSRFToken"] = chosen
        else:
            body["csrf_token"] = chosen
    return client.post(
        url, data=body, headers=headers, content_type="multipart/form-data"
    )


def _assert_csrf_rejected(response: Any, htmx: bool) -> None:
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert CSRF_MESSAGE in text
    if not htmx:
        assert errors_of(response), text[:300]


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize(("url", "kind"), UNIT_ROUTES)
def test_unit_posts_need_csrf(
    app: Flask, client: FlaskClient, url: str, kind: str, token: str
) -> None:
    login_unit(client, app)
    draft = reviewed_draft(client)
    data = {
        **open_form(),
        "_draft": draft,
        "_row": "0",
        "purpose": "unit-base-change",
        "id_card": (io.BytesIO(PNG), "b.png"),
    }
    before = stored_state(app)
    response = _csrf_attempt(app, client, url, kind, token, data)
    _assert_csrf_rejected(response, kind == "htmx")
    assert stored_state(app) == before
    assert client.get("/unit/").status_code == 200


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize(("url", "kind"), PERSON_ROUTES)
def test_person_posts_need_csrf(
    app: Flask, client: FlaskClient, url: str, kind: str, token: str
) -> None:
    login_person(client, DEMO_ID)
    data = {"house_price": "2000000", "income": "20000", "purpose": "unit-base-change"}
    before = stored_state(app)
    response = _csrf_attempt(app, client, url, kind, token, data)
    _assert_csrf_rejected(response, kind == "htmx")
    assert stored_state(app) == before
    assert client.get("/person/").status_code == 200


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("decision", ["approve", "return"])
def test_staff_decision_needs_csrf(
    app: Flask, client: FlaskClient, token: str, decision: str
) -> None:
    unit = app.test_client()
    login_unit(unit, app)
    number = submitted_number(unit)
    login_staff(client)
    before = stored_state(app)
    response = _csrf_attempt(
        app,
        client,
        f"/staff/reviews/{number}",
        "form",
        token,
        {"decision": decision, "comment": "csrf"},
    )
    _assert_csrf_rejected(response, False)
    assert stored_state(app) == before


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/unit/login", {"unit_account": UNIT_A, "password": DEMO_UNIT_PASSWORD}),
        ("/person/login", {"login_id": DEMO_ID, "password": DEMO_PERSON_PASSWORD}),
        ("/staff/login", {"staff_id": DEMO_STAFF_ID, "password": DEMO_STAFF_PASSWORD}),
    ],
)
def test_logins_need_csrf(
    app: Flask, client: FlaskClient, url: str, data: dict[str, str], token: str
) -> None:
    before = stored_state(app)
    response = _csrf_attempt(
        app, client, url, "form", token, {**data, "action": "send_code"}
    )
    _assert_csrf_rejected(response, False)
    assert stored_state(app) == before
    with client.session_transaction() as session:
        assert "hall" not in session


# Sessions -----------------------------------------------------------------------------

# The login subject of each hall's demo account, as LoginAccount stores it.
HALL_SUBJECTS = [("unit", UNIT_A), ("person", DEMO_ACCOUNT), ("staff", DEMO_STAFF_ID)]


def log_in(app: Flask, client: FlaskClient, hall: str) -> str:
    """Log in to a hall with its demo account and return the hall's home page URL."""
    if hall == "unit":
        login_unit(client, app)
    elif hall == "person":
        login_person(client, DEMO_ID)
    else:
        login_staff(client)
    return {"unit": "/unit/", "person": "/person/", "staff": "/staff/reviews"}[hall]


@pytest.mark.parametrize("hall", ["unit", "person", "staff"])
def test_cookie_dead_after_logout(app: Flask, client: FlaskClient, hall: str) -> None:
    home = log_in(app, client, hall)
    page = client.get(home)
    assert page.status_code == 200
    copied = client.get_cookie("session")
    assert copied is not None
    client.post("/logout", data={"csrf_token": csrf_token(page)})

    thief = app.test_client()
    thief.set_cookie("session", copied.value)
    response = thief.get(home)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(("hall", "subject"), HALL_SUBJECTS)
def test_password_change_ends_sessions(
    app: Flask, client: FlaskClient, hall: str, subject: str
) -> None:
    home = log_in(app, client, hall)
    assert client.get(home).status_code == 200
    with app.app_context():
        set_password(hall, subject, "Changed@2027")
    response = client.get(home)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_cookie_signed_elsewhere_ignored(app: Flask, client: FlaskClient) -> None:
    forger = Flask("forger")
    forger.secret_key = "not-the-hall-secret"
    interface = forger.session_interface
    serializer = interface.get_signing_serializer(forger)
    assert serializer is not None
    forged = serializer.dumps(
        {"hall": "unit", "subject": UNIT_A, "unit_account": UNIT_A, "epoch": 0}
    )
    client.set_cookie("session", forged)
    response = client.get("/unit/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/unit/login")


# Login throttling ---------------------------------------------------------------------


def _unit_login(
    client: FlaskClient,
    account: str,
    password: str,
    headers: dict[str, str] | None = None,
) -> Any:
    token = csrf_token(client.get("/unit/login"))
    return client.post(
        "/unit/login",
        data={
            "csrf_token": token,
            "unit_account": account,
            "password": password,
            "action": "send_code",
        },
        headers=headers,
    )


def _sms_sent(app: Flask) -> int:
    with app.extensions["hall"].session_factory() as session:
        return session.scalar(select(func.count()).select_from(SmsMessage))


@pytest.mark.parametrize(
    "variant",
    [
        UNIT_A,
        f" {UNIT_A} ",
        f"\t{UNIT_A}\n",
        f"\u3000{UNIT_A}",  # ideographic space
        "０２０１０００００１",  # full-width digits
        f"{UNIT_A}\u200b",
        f"\u200f{UNIT_A}",
        f"0{UNIT_A}",
        f"{UNIT_A}\x00",
    ],
)
def test_unit_lock_holds_for_variants(
    app: Flask, client: FlaskClient, variant: str
) -> None:
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        _unit_login(client, UNIT_A, "Wrong@2026")
    response = _unit_login(client, variant, DEMO_UNIT_PASSWORD)
    assert response.status_code == 400
    assert errors_of(response)
    assert _sms_sent(app) == 0
    with client.session_transaction() as session:
        assert "hall" not in session


def _person_login(client: FlaskClient, login_id: str, password: str) -> Any:
    token = csrf_token(client.get("/person/login"))
    return client.post(
        "/person/login",
        data={"csrf_token": token, "login_id": login_id, "password": password},
    )


@pytest.mark.parametrize(
    "variant",
    [
        DEMO_ID.lower(),
        f" {DEMO_ID}\t",
        f"\u3000{DEMO_ID}",
        "４４０２０３１９８５０３０５０２１Ｘ",
        f"{DEMO_ID}\u200b",
        DEMO_ACCOUNT,
        f" {DEMO_ACCOUNT} ",
        "０２０１０００００００１",
        f"0{DEMO_ACCOUNT}",
    ],
)
def test_person_lock_holds_for_variants(client: FlaskClient, variant: str) -> None:
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        _person_login(client, DEMO_ID, "Wrong@2026")
    response = _person_login(client, variant, DEMO_PERSON_PASSWORD)
    assert response.status_code == 400
    assert errors_of(response)
    assert client.get("/person/").status_code == 302


def _staff_login(client: FlaskClient, staff_id: str, password: str) -> Any:
    token = csrf_token(client.get("/staff/login"))
    return client.post(
        "/staff/login",
        data={"csrf_token": token, "staff_id": staff_id, "password": password},
    )


@pytest.mark.parametrize(
    "variant", [DEMO_STAFF_ID, DEMO_STAFF_ID.upper(), f" {DEMO_STAFF_ID} ", "Reviewer"]
)
def test_staff_lock_holds_for_variants(client: FlaskClient, variant: str) -> None:
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        _staff_login(client, DEMO_STAFF_ID, "x")
    response = _staff_login(client, variant, DEMO_STAFF_PASSWORD)
    assert response.status_code == 400
    assert client.get("/staff/reviews").status_code == 302


def test_forwarded_header_does_not_reset_address_lock(
    app: Flask, client: FlaskClient
) -> None:
    for number in range(MAX_FAILURES_PER_ADDRESS):
        _unit_login(client, f"02990000{number:02d}", "Wrong@2026")
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}
    response = _unit_login(client, UNIT_B, DEMO_UNIT_PASSWORD, forwarded)
    assert response.status_code == 400
    assert errors_of(response) == [LOCKED]
    assert _sms_sent(app) == 0


@pytest.mark.parametrize(("hall", "subject"), HALL_SUBJECTS)
def test_epoch_change_ends_sessions(
    app: Flask, client: FlaskClient, hall: str, subject: str
) -> None:
    home = log_in(app, client, hall)
    assert client.get(home).status_code == 200
    with app.extensions["hall"].session_factory() as session:
        session.execute(
            update(LoginAccount)
            .where(LoginAccount.hall == hall, LoginAccount.subject == subject)
            .values(session_epoch=LoginAccount.session_epoch + 1)
        )
        session.commit()
    response = client.get(home, headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert "/login" in response.headers["HX-Redirect"]
    assert client.get(home).status_code == 302


def test_session_of_other_unit_kept_apart(app: Flask, client: FlaskClient) -> None:
    """Changing the unit account inside a valid cookie needs the secret key."""
    login_unit(client, app, UNIT_A)
    cookie = client.get_cookie("session")
    assert cookie is not None
    payload, _, signature = cookie.value.rpartition(".")
    tampered = payload.replace("A", "B", 1) + "." + signature
    client.set_cookie("session", tampered)
    response = client.get("/unit/")
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("url", "field", "value", "message"),
    [
        ("/staff/login", "staff_id", "r" * 41, "工号最多40个字符"),
        ("/staff/login", "staff_id", "review\x00er", "工号最多40个字符"),
        ("/staff/login", "staff_id", "\u202ereviewer", "工号最多40个字符"),
        ("/unit/login", "unit_account", "０２０１０００００１", "请输入单位账号"),
        ("/unit/login", "unit_account", "1" * 21, "请输入单位账号"),
        (
            "/person/login",
            "login_id",
            "４４０２０３１９８５０３０５０２１Ｘ",
            "请输入身份证号码",
        ),
        ("/person/login", "login_id", "0" * 21, "请输入身份证号码"),
    ],
)
def test_login_ids_checked_before_lookup(
    app: Flask, client: FlaskClient, url: str, field: str, value: str, message: str
) -> None:
    before = stored_state(app)
    token = csrf_token(client.get(url))
    response = client.post(
        url, data={"csrf_token": token, field: value, "password": "x"}
    )
    assert response.status_code == 400
    assert any(message in text for text in errors_of(response)), errors_of(response)
    assert stored_state(app) == before


def test_wrong_method_answered_in_chinese(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "请求方式不正确" in response.get_data(as_text=True)
    assert client.get("/unit/").status_code == 200
