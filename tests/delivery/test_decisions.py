"""Reviewers' decisions made in an HTTP core reach the hall by a signed callback."""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from delivery_support import (
    ROOT,
    SECRET,
    UNIT_A,
    CoreServer,
    base_change,
    free_port,
    http_router,
    store_application,
    unit_accounts,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from support import login_unit, parse
from test_dead_letter import kill_delivery, listed_status, page_status
from test_outbox import delivery_of, sessions_of
from werkzeug.test import EnvironBuilder, TestResponse, run_wsgi_app

from connectors.base import Caller, NotFound
from connectors.embedded import EmbeddedCore
from connectors.embedded.http_server import CoreHttpApp
from connectors.http import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    encode,
    signature,
)
from engine.core_callbacks import MAX_BODY, MAX_FAILURES_PER_ADDRESS
from engine.delivery import DeliveryWorker, RetryPolicy
from engine.policy import Policy
from engine.storage.models import (
    Application,
    AuditEntry,
    CoreCallbackFailure,
    Delivery,
    utcnow,
)

CALLBACK_PATH = "/core/decisions"
UNIT_B = "0201000002"
FAST = RetryPolicy(first_delay=0.01, max_delay=0.05, lease=30)


@pytest.fixture
def hall_server(app: Flask) -> Iterator[CoreServer]:
    """Serve the hall itself over HTTP, so the core can call it back."""
    app.config["HALL_CORE_SECRET"] = SECRET
    server = CoreServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def desk(
    core_sessions: sessionmaker[Session], hall_server: CoreServer
) -> Iterator[tuple[CoreHttpApp, CoreServer]]:
    """Serve a core whose staff decisions are sent to the hall's callback."""
    policy = Policy.from_file(ROOT / "specs" / "policy.yaml")
    core = CoreHttpApp(
        EmbeddedCore(core_sessions, policy),
        SECRET,
        callback_url=hall_server.url + CALLBACK_PATH,
    )
    server = CoreServer(core)
    server.start()
    yield core, server
    server.stop()


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "application/json", **headers}
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def signed_headers(
    path: str, body: bytes, secret: str = SECRET, age: int = 0, nonce: str = ""
) -> dict[str, str]:
    """Return the headers that sign a POST of `body` to `path`, `age` seconds ago.

    An empty `nonce` signs without one and sends no nonce header.
    """
    timestamp = str(int(time.time()) - age)
    headers = {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, "POST", path, nonce, body),
    }
    if nonce:
        headers[NONCE_HEADER] = nonce
    return headers


def staff_decide(
    server: CoreServer, number: str, decision: str, comment: str = ""
) -> tuple[int, Any]:
    """Decide an application at the core's staff desk with a signed request."""
    path = f"/staff/reviews/{number}"
    body = encode({"decision": decision, "staff_id": "reviewer", "comment": comment})
    return post(server.port, path, body, signed_headers(path, body))


def signed_callback(
    decision: dict[str, Any],
    secret: str = SECRET,
    age: int = 0,
    nonce: str | None = None,
    path: str = CALLBACK_PATH,
) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a decision callback as the core signs it."""
    body = encode(decision)
    nonce = nonce or secrets.token_urlsafe(24)
    return body, signed_headers(path, body, secret, age, nonce)


def send_callback(hall_server: CoreServer, decision: dict[str, Any]) -> tuple[int, Any]:
    """Sign a decision callback as the core does and post it to the hall."""
    body, headers = signed_callback(decision)
    return post(hall_server.port, CALLBACK_PATH, body, headers)


def post_in_process(client: FlaskClient, changed: dict[str, str]) -> TestResponse:
    """Post a signed callback of an unknown number through the test client.

    Each header in `changed` replaces the signed header of the same name.
    """
    body, headers = signed_callback(decision_for("U20261204000001"))
    return client.post(CALLBACK_PATH, data=body, headers={**headers, **changed})


def decision_for(
    number: str,
    status: str = "approved",
    comment: str | None = None,
    unit: str = UNIT_A,
) -> dict[str, Any]:
    return {
        "application_number": number,
        "caller": {"hall": "unit", "unit_account": unit, "person_account": None},
        "status": status,
        "comment": comment,
    }


def delivered_application(app: Flask, core_url: str) -> str:
    """Store an application and deliver it to the core at `core_url`."""
    number = store_application(
        sessions_of(app), app, base_change(unit_accounts(app)[0], "8000")
    )
    worker = DeliveryWorker(sessions_of(app), http_router(core_url), FAST)
    assert worker.run_once() == 1
    assert delivery_of(app, number).status == "delivered"
    return number


def stored(app: Flask, number: str) -> Application:
    with sessions_of(app)() as session:
        return session.scalars(
            select(Application).where(Application.number == number)
        ).one()


def callback_audits(app: Flask, number: str) -> int:
    with sessions_of(app)() as session:
        return session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.application_number == number, AuditEntry.actor == "core")
        )


def test_approval_flows_back(
    app: Flask,
    client: FlaskClient,
    desk: tuple[CoreHttpApp, CoreServer],
) -> None:
    core, server = desk
    number = delivered_application(app, server.url)
    login_unit(client, app)
    assert page_status(client, number) == "待审核"

    status, answer = staff_decide(server, number, "approve")
    assert status == 200, answer
    assert core.callback_statuses == [200]
    assert core.unsent_decisions == []
    assert stored(app, number).status == "approved"
    assert page_status(client, number) == "审核通过"
    assert listed_status(client, number) == "审核通过"
    assert callback_audits(app, number) == 1


def test_return_flows_back_with_reason(
    app: Flask,
    client: FlaskClient,
    desk: tuple[CoreHttpApp, CoreServer],
) -> None:
    core, server = desk
    number = delivered_application(app, server.url)

    status, answer = staff_decide(server, number, "return", "工资表与基数不符")
    assert status == 200, answer
    application = stored(app, number)
    assert application.status == "returned"
    assert application.comment == "工资表与基数不符"
    login_unit(client, app)
    assert page_status(client, number) == "退回"
    page = parse(client.get(f"/unit/applications/{number}"))
    comment = page.find(id="application-comment")
    assert comment is not None
    assert comment.get_text(strip=True) == "工资表与基数不符"
    # The applicant can correct and submit a returned application again.
    assert page.select_one("form.revise") is not None


def test_staff_decides_once_at_core(
    app: Flask, desk: tuple[CoreHttpApp, CoreServer]
) -> None:
    core, server = desk
    number = delivered_application(app, server.url)
    assert staff_decide(server, number, "approve")[0] == 200
    status, answer = staff_decide(server, number, "return", "晚到的退回")
    assert status == 409
    assert "已处理" in answer["error"]["message"]
    assert core.callback_statuses == [200]
    assert stored(app, number).status == "approved"


def test_replayed_callback_rejected(
    app: Flask, hall_server: CoreServer, core_server: CoreServer
) -> None:
    number = delivered_application(app, core_server.url)
    body, headers = signed_callback(decision_for(number))
    first = post(hall_server.port, CALLBACK_PATH, body, headers)
    assert first == (200, {"result": "applied"})
    replay = post(hall_server.port, CALLBACK_PATH, body, headers)
    assert replay[0] == 401
    assert replay[1]["error"]["kind"] == "signature"
    assert callback_audits(app, number) == 1


@pytest.mark.parametrize(
    "forgery",
    [
        "wrong_secret",
        "old_timestamp",
        "future_timestamp",
        "tampered_body",
        "other_path",
        "missing_nonce",
        "short_nonce",
        "missing_signature",
    ],
)
def test_forged_callback_rejected(
    app: Flask, hall_server: CoreServer, core_server: CoreServer, forgery: str
) -> None:
    number = delivered_application(app, core_server.url)
    decision = decision_for(number)
    body, headers = signed_callback(decision)
    if forgery == "wrong_secret":
        body, headers = signed_callback(decision, secret="guessed-secret")
    elif forgery == "old_timestamp":
        body, headers = signed_callback(decision, age=301)
    elif forgery == "future_timestamp":
        body, headers = signed_callback(decision, age=-301)
    elif forgery == "tampered_body":
        body = encode(decision_for(number, "returned", "伪造的退回"))
    elif forgery == "other_path":
        body, headers = signed_callback(decision, path="/core/other")
    elif forgery == "missing_nonce":
        del headers[NONCE_HEADER]
    elif forgery == "short_nonce":
        body, headers = signed_callback(decision, nonce="abc")
    elif forgery == "missing_signature":
        del headers[SIGNATURE_HEADER]
    status, answer = post(hall_server.port, CALLBACK_PATH, body, headers)
    assert status == 401
    assert answer == {"error": {"kind": "signature", "message": "签名无效或已过期"}}
    assert stored(app, number).status == "submitted"


def test_unknown_application_not_found(
    app: Flask, hall_server: CoreServer, core_server: CoreServer
) -> None:
    number = delivered_application(app, core_server.url)
    unknown = number[:-6] + "999999"
    missing = send_callback(hall_server, decision_for(unknown))
    # Another unit's application gets the same response as one that does not exist.
    foreign = send_callback(hall_server, decision_for(number, unit=UNIT_B))
    assert missing[0] == 404
    assert foreign == missing
    person_caller = {"hall": "person", "person_account": "1"}
    as_person = {**decision_for(number), "caller": person_caller}
    assert send_callback(hall_server, as_person) == missing
    assert stored(app, number).status == "submitted"


def test_decision_twice_applied_once(
    app: Flask, hall_server: CoreServer, core_server: CoreServer
) -> None:
    number = delivered_application(app, core_server.url)
    returned = decision_for(number, "returned", "缺少工资表")
    outcomes = []
    for _ in range(2):
        outcomes.append(send_callback(hall_server, returned))
    assert outcomes[0] == (200, {"result": "applied"})
    assert outcomes[1] == (200, {"result": "unchanged"})
    assert callback_audits(app, number) == 1

    status, answer = send_callback(hall_server, decision_for(number, "approved"))
    assert status == 409
    assert answer["error"]["kind"] == "conflict"
    application = stored(app, number)
    assert application.status == "returned"
    assert application.comment == "缺少工资表"
    assert callback_audits(app, number) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "completed"}, "status"),
        ({"application_number": "../etc"}, "application_number"),
        ({"status": "returned", "comment": " "}, "comment"),
        ({"comment": "长" * 501}, "comment"),
        ({"comment": 12}, "comment"),
        ({"caller": {"hall": "staff"}}, "caller.hall"),
        ({"caller": {"hall": "unit", "unit_account": "02010x"}}, "caller.unit_account"),
    ],
)
def test_invalid_callback_names_field(
    app: Flask,
    hall_server: CoreServer,
    core_server: CoreServer,
    change: dict[str, Any],
    field: str,
) -> None:
    number = delivered_application(app, core_server.url)
    status, answer = send_callback(hall_server, {**decision_for(number), **change})
    assert status == 400
    assert answer["error"]["message"].startswith(field + "：")
    assert stored(app, number).status == "submitted"


def test_callback_not_json_rejected(hall_server: CoreServer) -> None:
    body = b"\xff not json"
    headers = signed_headers(CALLBACK_PATH, body, nonce=secrets.token_urlsafe(24))
    status, answer = post(hall_server.port, CALLBACK_PATH, body, headers)
    assert status == 400
    assert "JSON" in answer["error"]["message"]


def test_non_ascii_signature_rejected(app: Flask, client: FlaskClient) -> None:
    app.config["HALL_CORE_SECRET"] = SECRET
    response = post_in_process(client, {SIGNATURE_HEADER: "\u00e9" * 64})
    assert response.status_code == 401
    assert response.get_json()["error"]["kind"] == "signature"


def test_non_ascii_timestamp_rejected(app: Flask, client: FlaskClient) -> None:
    app.config["HALL_CORE_SECRET"] = SECRET
    response = post_in_process(client, {TIMESTAMP_HEADER: "\u00b2" * 10})
    assert response.status_code == 401
    assert response.get_json()["error"]["kind"] == "signature"


def test_callback_off_without_secret(app: Flask, client: FlaskClient) -> None:
    app.config["HALL_CORE_SECRET"] = ""
    response = post_in_process(client, {})
    assert response.status_code == 404


def test_decision_resent_after_hall_outage(
    app: Flask,
    client: FlaskClient,
    desk: tuple[CoreHttpApp, CoreServer],
    hall_server: CoreServer,
) -> None:
    core, server = desk
    number = delivered_application(app, server.url)
    hall_server.stop()
    assert staff_decide(server, number, "approve")[0] == 200
    assert len(core.unsent_decisions) == 1
    assert stored(app, number).status == "submitted"

    hall_server.start()
    assert core.resend_decisions() == 0
    assert stored(app, number).status == "approved"
    assert callback_audits(app, number) == 1


def test_decision_resent_after_throttle(
    app: Flask,
    desk: tuple[CoreHttpApp, CoreServer],
    hall_server: CoreServer,
) -> None:
    core, server = desk
    number = delivered_application(app, server.url)
    # Forged callbacks from the core's own address have used up its failures.
    with sessions_of(app)() as session:
        for _ in range(MAX_FAILURES_PER_ADDRESS):
            session.add(CoreCallbackFailure(address="127.0.0.1"))
        session.commit()
    assert staff_decide(server, number, "approve")[0] == 200
    assert core.callback_statuses == [429]
    assert len(core.unsent_decisions) == 1
    assert stored(app, number).status == "submitted"

    with sessions_of(app)() as session:
        session.execute(delete(CoreCallbackFailure))
        session.commit()
    assert core.resend_decisions() == 0
    assert stored(app, number).status == "approved"
    assert callback_audits(app, number) == 1


def test_decision_settles_dead_delivery(
    app: Flask,
    client: FlaskClient,
    desk: tuple[CoreHttpApp, CoreServer],
) -> None:
    core, server = desk
    number = store_application(
        sessions_of(app), app, base_change(unit_accounts(app)[0], "8000")
    )
    # The core got the application, but the hall never learnt it and gave up.
    router = http_router(server.url)
    with sessions_of(app)() as session:
        data = session.scalars(
            select(Application.data).where(Application.number == number)
        ).one()
    router.call(
        "person.base_change",
        Caller("unit", unit_account=UNIT_A),
        {**data, "application_number": number, "attachments": []},
    )
    kill_delivery(app, number)

    assert staff_decide(server, number, "approve")[0] == 200
    assert delivery_of(app, number).status == "delivered"
    application = stored(app, number)
    assert application.status == "approved"
    assert application.delivered_at is not None
    login_unit(client, app)
    assert page_status(client, number) == "审核通过"


def lose_callbacks(core: CoreHttpApp, hall_server: CoreServer) -> None:
    """Make the core's decision callbacks fail and never be resent."""
    hall_server.stop()
    core.callback_url = f"http://127.0.0.1:{free_port()}{CALLBACK_PATH}"


def test_polling_brings_lost_decision(
    app: Flask,
    client: FlaskClient,
    desk: tuple[CoreHttpApp, CoreServer],
    hall_server: CoreServer,
) -> None:
    core, server = desk
    number = delivered_application(app, server.url)
    lose_callbacks(core, hall_server)
    finished = delivery_of(app, number).finished_at
    assert finished is not None
    clock = [finished + dt.timedelta(seconds=59)]
    policy = RetryPolicy(first_delay=1, max_delay=1, lease=30, poll_interval=60)
    worker = DeliveryWorker(
        sessions_of(app), http_router(server.url), policy, clock=lambda: clock[0]
    )
    # Not due within an interval of the delivery.
    assert worker.poll_decisions() == 0
    assert delivery_of(app, number).decision_checked_at is None
    # Undecided at the core: requested once, then not again before the interval.
    clock[0] += dt.timedelta(seconds=1)
    assert worker.poll_decisions() == 0
    checked = delivery_of(app, number).decision_checked_at
    assert checked == clock[0]

    assert staff_decide(server, number, "return", "请补充工资表")[0] == 200
    assert len(core.unsent_decisions) == 1
    clock[0] += dt.timedelta(seconds=59)
    assert worker.poll_decisions() == 0
    assert delivery_of(app, number).decision_checked_at == checked
    assert stored(app, number).status == "submitted"

    clock[0] += dt.timedelta(seconds=1)
    assert worker.poll_decisions() == 1
    application = stored(app, number)
    assert application.status == "returned"
    assert application.comment == "请补充工资表"
    assert callback_audits(app, number) == 1
    login_unit(client, app)
    assert page_status(client, number) == "退回"

    # A decided application is not asked about again.
    clock[0] += dt.timedelta(hours=1)
    assert worker.poll_decisions() == 0
    assert delivery_of(app, number).decision_checked_at == clock[0] - dt.timedelta(
        hours=1
    )


def test_polling_and_callback_apply_once(
    app: Flask,
    desk: tuple[CoreHttpApp, CoreServer],
    hall_server: CoreServer,
) -> None:
    core, server = desk
    number = delivered_application(app, server.url)
    hall_server.stop()
    assert staff_decide(server, number, "approve")[0] == 200
    policy = RetryPolicy(poll_interval=60)
    later = utcnow() + dt.timedelta(seconds=61)
    worker = DeliveryWorker(
        sessions_of(app), http_router(server.url), policy, clock=lambda: later
    )
    assert worker.poll_decisions() == 1
    hall_server.start()
    assert core.resend_decisions() == 0
    assert core.callback_statuses == [200]
    assert stored(app, number).status == "approved"
    assert callback_audits(app, number) == 1


def test_review_status_scoped_to_owner(
    app: Flask, desk: tuple[CoreHttpApp, CoreServer]
) -> None:
    core, server = desk
    number = delivered_application(app, server.url)
    router = http_router(server.url)
    own = router.call(
        "review.status", Caller("unit", unit_account=UNIT_A), {"number": number}
    )
    assert own == {"status": "pending", "comment": None}
    with pytest.raises(NotFound):
        router.call(
            "review.status", Caller("unit", unit_account=UNIT_B), {"number": number}
        )
    with pytest.raises(NotFound):
        router.call(
            "review.status",
            Caller("unit", unit_account=UNIT_A),
            {"number": number[:-6] + "999999"},
        )


def test_polling_off_without_status_operation(app: Flask) -> None:
    number = store_application(
        sessions_of(app), app, base_change(unit_accounts(app)[0], "8000")
    )
    worker = DeliveryWorker(sessions_of(app), app.extensions["hall"].router, FAST)
    assert worker.run_once() == 1
    assert delivery_of(app, number).status == "delivered"
    # The embedded core reports decisions in process and offers no review.status.
    assert worker.poll_decisions() == 0
    assert delivery_of(app, number).decision_checked_at is None


def test_polling_stops_when_core_down(app: Flask) -> None:
    number = store_application(
        sessions_of(app), app, base_change(unit_accounts(app)[0], "8000")
    )
    with sessions_of(app)() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.idempotency_key == number)
            .values(status="delivered")
        )
        session.commit()
    router = http_router(f"http://127.0.0.1:{free_port()}")
    worker = DeliveryWorker(sessions_of(app), router, FAST)
    assert worker.poll_decisions() == 0
    assert delivery_of(app, number).decision_checked_at is None


class CountingStream(io.RawIOBase):
    """A request body of `size` bytes that records how many of them were read."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = b"x" * count
        self.left -= count
        self.read_bytes += count
        return count


def test_chunked_callback_read_bounded(app: Flask) -> None:
    app.config["HALL_CORE_SECRET"] = SECRET
    stream = CountingStream(8 * 1024 * 1024)
    builder = EnvironBuilder(
        path=CALLBACK_PATH, method="POST", headers={"Transfer-Encoding": "chunked"}
    )
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = stream
    environ["wsgi.input_terminated"] = True
    _, status, _ = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    assert status.startswith("413")
    # An unsigned body is read no further than the limit, however long it runs.
    assert stream.read_bytes <= MAX_BODY + 64 * 1024
