"""The outbox: confirmation, claims, retries, rejections and the `hall deliver` command."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import time
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
from support import csrf_token, errors_of, latest_sms_code, login_unit

from connectors.base import Caller
from connectors.embedded.http_server import CoreHttpApp
from connectors.embedded.models import ReviewItem
from engine import submission
from engine.delivery import BackgroundDelivery, DeliveryWorker, RetryPolicy
from engine.storage.models import Application, Delivery, DeliveryAttempt, utcnow

FAST = RetryPolicy(first_delay=0.01, max_delay=0.05, lease=30)


def sessions_of(app: Flask) -> Any:
    return app.extensions["hall"].session_factory


def delivery_of(app: Flask, number: str) -> Delivery:
    with sessions_of(app)() as session:
        return session.scalars(
            select(Delivery).where(Delivery.idempotency_key == number)
        ).one()


def attempts_of(app: Flask, number: str) -> list[DeliveryAttempt]:
    with sessions_of(app)() as session:
        return list(
            session.scalars(
                select(DeliveryAttempt)
                .join(Delivery)
                .where(Delivery.idempotency_key == number)
                .order_by(DeliveryAttempt.id)
            )
        )


def review_items(core_sessions: Any, number: str) -> int:
    with core_sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(ReviewItem)
            .where(ReviewItem.application_number == number)
        )


def test_confirm_writes_outbox_row(app: Flask) -> None:
    account = unit_accounts(app)[0]
    number = store_application(sessions_of(app), app, base_change(account, "8000"))
    delivery = delivery_of(app, number)
    assert delivery.status == "pending"
    assert delivery.operation == "person.base_change"
    assert delivery.attempts == 0
    assert application(sessions_of(app), number).status == "submitted"


def test_worker_delivers_over_http(
    app: Flask, core_server: CoreServer, core_sessions: Any
) -> None:
    account = unit_accounts(app)[0]
    number = store_application(sessions_of(app), app, base_change(account, "8000"))
    worker = DeliveryWorker(sessions_of(app), http_router(core_server.url), FAST)
    assert worker.run_once() == 1
    assert delivery_of(app, number).status == "delivered"
    stored = application(sessions_of(app), number)
    assert stored.delivered_at is not None
    assert stored.delivery_attempts == 1
    assert [attempt.outcome for attempt in attempts_of(app, number)] == ["delivered"]
    assert review_items(core_sessions, number) == 1
    # A later pass finds nothing due.
    assert worker.run_once() == 0


def test_background_worker_delivers(app: Flask, core_server: CoreServer) -> None:
    account = unit_accounts(app)[0]
    number = store_application(sessions_of(app), app, base_change(account, "8000"))
    worker = DeliveryWorker(sessions_of(app), http_router(core_server.url), FAST)
    background = BackgroundDelivery(worker, idle_wait=0.05)
    try:
        deadline = time.monotonic() + 20
        while delivery_of(app, number).status == "pending":
            assert time.monotonic() < deadline, "not delivered within 20 s"
            time.sleep(0.05)
    finally:
        background.stop()
    assert not background.thread.is_alive()
    assert delivery_of(app, number).status == "delivered"


def test_unavailable_core_retried_with_backoff(
    app: Flask, core_app: CoreHttpApp, core_sessions: Any
) -> None:
    account = unit_accounts(app)[0]
    number = store_application(sessions_of(app), app, base_change(account, "8000"))
    port = free_port()
    policy = RetryPolicy(first_delay=10, max_delay=40, lease=30)
    clock = [utcnow()]
    worker = DeliveryWorker(
        sessions_of(app),
        http_router(f"http://127.0.0.1:{port}"),
        policy,
        clock=lambda: clock[0],
    )

    waits = []
    for _ in range(4):
        assert worker.run_once() == 1
        delivery = delivery_of(app, number)
        assert delivery.status == "pending"
        waits.append((delivery.next_attempt_at - clock[0]).total_seconds())
        # Not due again before its wait is over.
        assert worker.run_once() == 0
        clock[0] = delivery.next_attempt_at
    # Jittered between half and all of 10, 20, 40 and then the 40 s maximum.
    for wait, ceiling in zip(waits, (10, 20, 40, 40), strict=True):
        assert ceiling / 2 <= wait <= ceiling
    attempts = attempts_of(app, number)
    assert [attempt.outcome for attempt in attempts] == ["unavailable"] * 4
    assert "cannot connect" in (attempts[0].error or "")
    assert application(sessions_of(app), number).delivery_error

    server = CoreServer(core_app, port)
    server.start()
    try:
        assert worker.run_once() == 1
    finally:
        server.stop()
    assert delivery_of(app, number).status == "delivered"
    assert review_items(core_sessions, number) == 1
    assert application(sessions_of(app), number).delivery_error is None


def test_rejection_returns_application(
    app: Flask, core_server: CoreServer, core_sessions: Any
) -> None:
    account = unit_accounts(app)[0]
    number = store_application(sessions_of(app), app, base_change(account, "1"))
    worker = DeliveryWorker(sessions_of(app), http_router(core_server.url), FAST)
    assert worker.run_once() == 1
    delivery = delivery_of(app, number)
    assert delivery.status == "rejected"
    stored = application(sessions_of(app), number)
    assert stored.status == "returned"
    assert re.fullmatch(r"第1行：缴存基数应在 .+ 元之间", stored.comment or "")
    assert review_items(core_sessions, number) == 0
    # A rejection is final: nothing is due any more.
    assert worker.run_once() == 0
    assert len(attempts_of(app, number)) == 1


def test_claims_never_overlap(app: Flask) -> None:
    accounts = unit_accounts(app)
    numbers = [
        store_application(sessions_of(app), app, base_change(accounts[0], "8000"))
        for _ in range(30)
    ]
    workers = [
        DeliveryWorker(
            sessions_of(app), http_router("http://127.0.0.1:1"), FAST, name=f"w{i}"
        )
        for i in range(4)
    ]
    claimed: list[list[int]] = [[] for _ in workers]
    start = threading.Barrier(len(workers))

    def claim_all(index: int) -> None:
        start.wait()
        while True:
            claims = workers[index].claim(3)
            if not claims:
                return
            claimed[index].extend(claim.delivery_id for claim in claims)

    threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [delivery_id for ids in claimed for delivery_id in ids]
    assert len(every) == len(numbers)
    assert len(set(every)) == len(numbers)


def test_expired_lease_taken_over(app: Flask, core_server: CoreServer) -> None:
    account = unit_accounts(app)[0]
    number = store_application(sessions_of(app), app, base_change(account, "8000"))
    clock = [utcnow()]
    router = http_router(core_server.url)
    policy = RetryPolicy(first_delay=1, max_delay=5, lease=60)
    first = DeliveryWorker(sessions_of(app), router, policy, "first", lambda: clock[0])
    second = DeliveryWorker(
        sessions_of(app), router, policy, "second", lambda: clock[0]
    )

    # The first worker claims and then dies without an outcome.
    lost = first.claim()
    assert len(lost) == 1
    assert second.claim() == []
    clock[0] += dt.timedelta(seconds=61)
    taken = second.claim()
    assert len(taken) == 1
    assert second.deliver(taken[0]) == "delivered"
    # The first worker's late outcome is not recorded over the second one's.
    first.deliver(lost[0])
    delivery = delivery_of(app, number)
    assert delivery.status == "delivered"
    assert delivery.attempts == 2
    assert [a.worker for a in attempts_of(app, number)] == ["first", "second"]


def test_retry_policy_caps_delay() -> None:
    policy = RetryPolicy(first_delay=2, max_delay=300)
    for attempts, ceiling in ((1, 2), (2, 4), (5, 32), (9, 300), (200, 300)):
        seconds = policy.delay(attempts).total_seconds()
        assert ceiling / 2 <= seconds <= ceiling


def test_concurrent_confirm_creates_one(app: Flask) -> None:
    sessions = sessions_of(app)
    service = app.extensions["hall"].services["unit-base-change"]
    caller = Caller("unit", unit_account="0201000001")
    account = unit_accounts(app)[0]
    with sessions() as session:
        draft = submission.open_draft(session, service, caller)
        draft.data = base_change(account, "8000")
        session.commit()
        draft_id = draft.id

    results: list[Any] = []
    start = threading.Barrier(2)

    def click() -> None:
        with sessions() as session:
            own = session.get(Application, draft_id)
            start.wait()
            done = submission.confirm(
                session, own, caller, "127.0.0.1", service.submit_operation
            )
            results.append(done.number if done else None)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert results.count(None) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1
        assert (
            session.scalar(
                select(func.count())
                .select_from(Application)
                .where(Application.status == "submitted")
            )
            == 1
        )


def test_double_click_submit_creates_one(client: FlaskClient, app: Flask) -> None:
    login_unit(client, app)
    url = "/unit/unit-base-change"
    token = csrf_token(client.get(url))
    sent = client.post(
        "/sms/send", data={"csrf_token": token, "purpose": "unit-base-change"}
    )
    assert sent.status_code == 200
    form: dict[str, Any] = {
        "csrf_token": token,
        "effective_month": "2027-01",
        "_agree": "on",
        "_sms_code": latest_sms_code(app),
        "wage_list": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "工资表.pdf"),
    }
    employees = app.extensions["hall"].router.call(
        "unit.employees", Caller("unit", unit_account="0201000001"), {}
    )
    for index, employee in enumerate(employees):
        form[f"employees-{index}-person_account"] = employee["person_account"]
        form[f"employees-{index}-base"] = (
            "8000" if index == 0 else str(employee["base"])
        )
    review = client.post(url, data=form, content_type="multipart/form-data")
    assert review.status_code == 200, errors_of(review)
    draft = re.search(r'name="_draft" value="([^"]+)"', review.get_data(as_text=True))
    assert draft is not None
    confirm = {"csrf_token": token, "_draft": draft.group(1)}

    first = client.post(url + "/confirm", data=confirm)
    second = client.post(url + "/confirm", data=confirm)
    assert first.status_code == 302
    assert second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    with sessions_of(app)() as session:
        numbers = session.scalars(
            select(Application.number).where(Application.status != "draft")
        ).all()
        assert len(numbers) == 1
        delivery = session.scalars(select(Delivery)).one()
    # The confirm view's immediate try reached the embedded core.
    assert delivery.status == "delivered"
    assert delivery.attempts == 1


def test_deliver_command_once(
    app: Flask,
    core_server: CoreServer,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    tmp_path: Any,
) -> None:
    account = unit_accounts(app)[0]
    numbers = [
        store_application(sessions_of(app), app, base_change(account, "8000"))
        for _ in range(3)
    ]
    monkeypatch.setenv("HALL_DATABASE_URL", database_url)
    monkeypatch.setenv("HALL_INSTANCE", str(tmp_path))
    monkeypatch.setenv("HALL_CORE_URL", core_server.url)
    monkeypatch.setenv("HALL_CORE_SECRET", SECRET)
    monkeypatch.setenv("HALL_ROUTES", "*=http")
    from engine.cli import main

    result = CliRunner().invoke(main, ["deliver", "--once"])
    assert result.exit_code == 0, result.output
    assert "3 delivery attempts made" in result.output
    for number in numbers:
        assert delivery_of(app, number).status == "delivered"
