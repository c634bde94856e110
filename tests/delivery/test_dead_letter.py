"""Dead deliveries: giving up, permanent errors, the status shown and the requeue."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from click.testing import CliRunner
from delivery_support import (
    SECRET,
    CoreServer,
    application,
    base_change,
    free_port,
    http_router,
    store_application,
    unit_accounts,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support import csrf_token, login_staff, login_unit, parse
from test_outbox import attempts_of, delivery_of, review_items, sessions_of

from connectors.embedded.http_server import CoreHttpApp
from engine.delivery import DeliveryWorker, RetryPolicy, requeue_dead
from engine.storage.models import AuditEntry, utcnow

PENDING_LABEL = "已受理，正在转交中心"
DEAD_LABEL = "转交中心失败，中心工作人员将处理"


class FaultyCore:
    """A WSGI wrapper that responds with `status` instead of the core, or passes on.

    With `run_first`, the core runs the request and its response is replaced, as when
    the response is lost on the way back.
    """

    def __init__(self, core: CoreHttpApp) -> None:
        self.core = core
        self.status: str | None = None
        self.body: dict[str, Any] = {"error": {"kind": "internal", "message": "down"}}
        self.run_first = False
        self.requests = 0

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        self.requests += 1
        if self.status is None:
            return self.core(environ, start_response)
        if self.run_first:
            list(self.core(environ, lambda *args: None))
        body = json.dumps(self.body).encode()
        start_response(
            self.status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


@pytest.fixture
def faulty(core_app: CoreHttpApp) -> Iterable[tuple[FaultyCore, CoreServer]]:
    wrapper = FaultyCore(core_app)
    server = CoreServer(wrapper)
    server.start()
    yield wrapper, server
    server.stop()


def run_until_settled(
    worker: DeliveryWorker, clock: list[dt.datetime], app: Flask, number: str
) -> int:
    """Run passes, moving the clock to each next attempt, until the delivery settles."""
    passes = 0
    while delivery_of(app, number).status == "pending":
        assert passes < 50, "the delivery never settled"
        clock[0] = max(clock[0], delivery_of(app, number).next_attempt_at)
        worker.run_once()
        passes += 1
    return passes


def page_status(client: FlaskClient, number: str) -> str:
    page = parse(client.get(f"/unit/applications/{number}"))
    found = page.find(id="application-status")
    assert found is not None
    return found.get_text(strip=True)


def listed_status(client: FlaskClient, number: str) -> str:
    page = parse(client.get("/unit/unit-applications"))
    for row in page.select("table.result-table tbody tr"):
        cells = [cell.get_text(strip=True) for cell in row.find_all("td")]
        if cells and cells[0] == number:
            return cells[3]
    raise AssertionError(f"{number} is not in the applications list")


def test_dead_after_max_attempts(
    app: Flask,
    client: FlaskClient,
    faulty: tuple[FaultyCore, CoreServer],
    core_app: CoreHttpApp,
    core_sessions: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrapper, server = faulty
    number = store_application(
        sessions_of(app), app, base_change(unit_accounts(app)[0], "8000")
    )
    login_unit(client, app)
    assert page_status(client, number) == PENDING_LABEL
    assert listed_status(client, number) == PENDING_LABEL

    # The core stores each application but its responses never arrive.
    wrapper.status, wrapper.run_first = "503 Service Unavailable", True
    clock = [utcnow()]
    policy = RetryPolicy(first_delay=1, max_delay=4, lease=30, max_attempts=3)
    worker = DeliveryWorker(
        sessions_of(app), http_router(server.url), policy, clock=lambda: clock[0]
    )
    caplog.set_level(logging.INFO, logger="engine.delivery")
    assert run_until_settled(worker, clock, app, number) == 3

    delivery = delivery_of(app, number)
    assert delivery.status == "dead"
    assert delivery.attempts == 3
    assert "status 503" in (delivery.last_error or "")
    stored = application(sessions_of(app), number)
    assert stored.status == "submitted"
    assert "status 503" in (stored.delivery_error or "")
    assert [a.outcome for a in attempts_of(app, number)] == ["unavailable"] * 3
    # Dead deliveries are not claimed again.
    clock[0] += dt.timedelta(days=3)
    assert worker.run_once() == 0
    assert page_status(client, number) == DEAD_LABEL
    assert listed_status(client, number) == DEAD_LABEL
    gave_up = [record for record in caplog.records if "gave up" in record.getMessage()]
    assert len(gave_up) == 1
    assert number in gave_up[0].getMessage()
    retried = [
        record for record in caplog.records if "retrying later" in record.getMessage()
    ]
    assert len(retried) == 2
    assert all(number in record.getMessage() for record in retried)
    assert all(SECRET not in record.getMessage() for record in caplog.records)

    # Back up, the requeued delivery reaches the core, which ran it only once.
    wrapper.status = None
    assert requeue_dead(sessions_of(app), "reviewer", [number]) == [number]
    requeued = delivery_of(app, number)
    assert requeued.status == "pending"
    assert requeued.idempotency_key == number
    assert requeued.attempts == 0
    assert requeued.requeued_by == "reviewer"
    requeue_logs = [
        record.getMessage()
        for record in caplog.records
        if "requeued" in record.getMessage()
    ]
    assert len(requeue_logs) == 1
    assert number in requeue_logs[0]
    assert worker.run_once() == 1
    assert delivery_of(app, number).status == "delivered"
    assert review_items(core_sessions, number) == 1
    assert core_app.executions[number] == 1
    assert page_status(client, number) == "待审核"
    assert len(attempts_of(app, number)) == 4


def test_dead_after_max_age(app: Flask) -> None:
    number = store_application(
        sessions_of(app), app, base_change(unit_accounts(app)[0], "8000")
    )
    created = delivery_of(app, number).created_at
    clock = [created]
    policy = RetryPolicy(first_delay=40, max_delay=40, lease=30, max_age=100)
    worker = DeliveryWorker(
        sessions_of(app),
        http_router(f"http://127.0.0.1:{free_port()}"),
        policy,
        clock=lambda: clock[0],
    )
    times = []
    while delivery_of(app, number).status == "pending":
        assert len(times) < 20, "the delivery never gave up"
        clock[0] = max(clock[0], delivery_of(app, number).next_attempt_at)
        times.append((clock[0] - created).total_seconds())
        assert worker.run_once() == 1
    assert delivery_of(app, number).status == "dead"
    # The last attempt falls on the deadline, not a full delay beyond it.
    assert times[-1] == 100
    assert all(seconds < 100 for seconds in times[:-1])


UNKNOWN = {"error": {"kind": "unknown_operation", "message": "no such operation"}}


@pytest.mark.parametrize(
    ("status", "body", "expected", "outcome", "error"),
    [
        ("400 Bad Request", {"error": {}}, "dead", "invalid", "status 400"),
        ("413 Content Too Large", {}, "dead", "invalid", "status 413"),
        ("422 Unprocessable Content", {}, "dead", "invalid", "status 422"),
        ("404 Not Found", UNKNOWN, "dead", "invalid", "no such operation"),
        ("500 Internal Server Error", {}, "pending", "unavailable", "status 500"),
        ("503 Service Unavailable", {}, "pending", "unavailable", "status 503"),
        ("429 Too Many Requests", {}, "pending", "unavailable", "status 429"),
        ("408 Request Timeout", {}, "pending", "unavailable", "status 408"),
        ("401 Unauthorized", {}, "pending", "unavailable", "rejected the signature"),
    ],
)
def test_permanent_errors_dead_at_once(
    app: Flask,
    faulty: tuple[FaultyCore, CoreServer],
    status: str,
    body: dict[str, Any],
    expected: str,
    outcome: str,
    error: str,
) -> None:
    wrapper, server = faulty
    wrapper.status, wrapper.body = status, body
    number = store_application(
        sessions_of(app), app, base_change(unit_accounts(app)[0], "8000")
    )
    policy = RetryPolicy(first_delay=60, max_delay=60, lease=30)
    worker = DeliveryWorker(sessions_of(app), http_router(server.url), policy)
    assert worker.run_once() == 1
    delivery = delivery_of(app, number)
    assert delivery.status == expected
    assert delivery.attempts == 1
    assert [a.outcome for a in attempts_of(app, number)] == [outcome]
    assert error in (delivery.last_error or "")
    assert application(sessions_of(app), number).status == "submitted"


def test_refused_connection_retried(app: Flask) -> None:
    number = store_application(
        sessions_of(app), app, base_change(unit_accounts(app)[0], "8000")
    )
    policy = RetryPolicy(first_delay=60, max_delay=60, lease=30, max_attempts=2)
    router = http_router(f"http://127.0.0.1:{free_port()}")
    worker = DeliveryWorker(sessions_of(app), router, policy)
    assert worker.run_once() == 1
    assert delivery_of(app, number).status == "pending"


def kill_delivery(app: Flask, number: str) -> None:
    """Make a delivery dead in one refused attempt."""
    policy = RetryPolicy(first_delay=1, max_delay=1, lease=30, max_attempts=1)
    router = http_router(f"http://127.0.0.1:{free_port()}")
    worker = DeliveryWorker(sessions_of(app), router, policy)
    assert worker.deliver_now(number) == "unavailable"
    assert delivery_of(app, number).status == "dead"


def test_staff_page_requeues_one_and_all(app: Flask, client: FlaskClient) -> None:
    account = unit_accounts(app)[0]
    numbers = [
        store_application(sessions_of(app), app, base_change(account, "8000"))
        for _ in range(3)
    ]
    for number in numbers:
        kill_delivery(app, number)

    assert client.get("/staff/deliveries").status_code == 302
    login_staff(client)
    queue = client.get("/staff/reviews").get_data(as_text=True)
    assert "/staff/deliveries" in queue
    page = client.get("/staff/deliveries")
    assert page.status_code == 200
    rows = parse(page).select("#dead-deliveries tbody tr")
    assert [row.find("td").get_text(strip=True) for row in rows] == numbers
    assert "cannot connect" in rows[0].get_text()
    assert "全部重新投递（3 笔）" in page.get_data(as_text=True)
    token = csrf_token(page)

    one = client.post(
        "/staff/deliveries/requeue", data={"csrf_token": token, "number": numbers[0]}
    )
    assert one.status_code == 302
    assert delivery_of(app, numbers[0]).status == "pending"
    assert delivery_of(app, numbers[1]).status == "dead"
    shown = client.get("/staff/deliveries").get_data(as_text=True)
    assert f"已重新投递 1 笔申报：{numbers[0]}" in shown

    # A second requeue of the same number finds nothing dead.
    again = client.post(
        "/staff/deliveries/requeue",
        data={"csrf_token": token, "number": numbers[0]},
        follow_redirects=True,
    )
    assert "没有需要重新投递的申报" in again.get_data(as_text=True)

    forged = client.post(
        "/staff/deliveries/requeue",
        data={"csrf_token": token, "number": "x' or 1=1"},
        follow_redirects=True,
    )
    assert "申报编号无效" in forged.get_data(as_text=True)

    every = client.post(
        "/staff/deliveries/requeue", data={"csrf_token": token, "all": "1"}
    )
    assert every.status_code == 302
    assert [delivery_of(app, n).status for n in numbers] == ["pending"] * 3
    with sessions_of(app)() as session:
        audits = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "requeue_delivery")
        )
    assert audits == 3


def test_staff_requeue_needs_csrf(app: Flask, client: FlaskClient) -> None:
    number = store_application(
        sessions_of(app), app, base_change(unit_accounts(app)[0], "8000")
    )
    kill_delivery(app, number)
    login_staff(client)
    response = client.post("/staff/deliveries/requeue", data={"all": "1"})
    assert response.status_code == 400
    assert delivery_of(app, number).status == "dead"


def test_unit_cannot_open_staff_page(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    response = client.get("/staff/deliveries")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_requeue_dead_command(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    tmp_path: Any,
) -> None:
    account = unit_accounts(app)[0]
    numbers = [
        store_application(sessions_of(app), app, base_change(account, "8000"))
        for _ in range(3)
    ]
    for number in numbers:
        kill_delivery(app, number)
    monkeypatch.setenv("HALL_DATABASE_URL", database_url)
    monkeypatch.setenv("HALL_INSTANCE", str(tmp_path))
    from engine.cli import main

    runner = CliRunner()
    one = runner.invoke(
        main, ["deliver", "--requeue-dead", "--application", numbers[1]]
    )
    assert one.exit_code == 0, one.output
    assert "1 dead deliveries requeued" in one.output
    assert [delivery_of(app, n).status for n in numbers] == ["dead", "pending", "dead"]

    rest = runner.invoke(main, ["deliver", "--requeue-dead"])
    assert rest.exit_code == 0, rest.output
    assert "2 dead deliveries requeued" in rest.output
    assert [delivery_of(app, n).status for n in numbers] == ["pending"] * 3

    misuse = runner.invoke(main, ["deliver", "--application", numbers[0]])
    assert misuse.exit_code == 2
    assert "--requeue-dead" in misuse.output


def test_retry_policy_rejects_bad_limits() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="max_age"):
        RetryPolicy(max_age=0)
