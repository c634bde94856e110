"""Failed decision callbacks throttle their address before any signature check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from delivery_support import SECRET, base_change, store_application, unit_accounts
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from test_decisions import (
    CALLBACK_PATH,
    callback_audits,
    decision_for,
    signed_callback,
    stored,
)
from test_outbox import sessions_of
from werkzeug.test import TestResponse

from engine import core_callbacks
from engine.app import default_config
from engine.core_callbacks import FAILURE_WINDOW, MAX_FAILURES_PER_ADDRESS
from engine.storage.models import CoreCallbackFailure, utcnow
from tests.support import build_test_app

ATTACKER = "203.0.113.7"
CORE = "198.51.100.2"
PROXY = "10.0.0.5"
THROTTLED = {
    "error": {"kind": "throttled", "message": "签名校验失败次数过多，请 15 分钟后再试"}
}


@pytest.fixture
def hall(app: Flask) -> Flask:
    app.config["HALL_CORE_SECRET"] = SECRET
    return app


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Record every signature check the endpoint makes."""
    calls: list[Any] = []
    check = core_callbacks.callback_signature_problem

    def recorded(*args: Any) -> str | None:
        calls.append(args)
        return check(*args)

    monkeypatch.setattr(core_callbacks, "callback_signature_problem", recorded)
    yield calls


@pytest.fixture
def proxied_hall(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The hall behind one reverse proxy, as HALL_TRUSTED_PROXIES=1 configures it."""
    app = build_test_app(
        database_url, tmp_path, HALL_CORE_SECRET=SECRET, TRUSTED_PROXIES=1
    )
    yield app
    app.extensions["hall"].session_factory.kw["bind"].dispose()


def send(
    client: FlaskClient,
    address: str,
    decision: dict[str, Any],
    forwarded_for: str | None = None,
    **signing: Any,
) -> TestResponse:
    body, headers = signed_callback(decision, **signing)
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return client.post(
        CALLBACK_PATH,
        data=body,
        headers={"Content-Type": "application/json", **headers},
        environ_base={"REMOTE_ADDR": address},
    )


def submitted_application(app: Flask) -> str:
    return store_application(
        sessions_of(app), app, base_change(unit_accounts(app)[0], "8000")
    )


def failures_of(app: Flask, address: str) -> int:
    with sessions_of(app)() as session:
        return session.scalar(
            select(func.count())
            .select_from(CoreCallbackFailure)
            .where(CoreCallbackFailure.address == address)
        )


def forge(
    client: FlaskClient,
    number: str,
    count: int,
    address: str = ATTACKER,
    forwarded_for: str | None = None,
) -> list[int]:
    """Send `count` callbacks signed with a guessed secret from `address`."""
    statuses = []
    for _ in range(count):
        forged = send(
            client,
            address,
            decision_for(number),
            forwarded_for=forwarded_for,
            secret="guessed",
        )
        statuses.append(forged.status_code)
    return statuses


def test_forged_callbacks_throttled(
    hall: Flask, client: FlaskClient, signature_checks: list[Any]
) -> None:
    number = submitted_application(hall)
    assert forge(client, number, MAX_FAILURES_PER_ADDRESS) == [401] * (
        MAX_FAILURES_PER_ADDRESS
    )
    assert len(signature_checks) == MAX_FAILURES_PER_ADDRESS

    blocked = send(client, ATTACKER, decision_for(number), secret="guessed")
    assert blocked.status_code == 429
    assert blocked.get_json() == THROTTLED
    assert blocked.headers["Retry-After"] == str(int(FAILURE_WINDOW.total_seconds()))
    # A throttled request is neither checked nor counted.
    assert len(signature_checks) == MAX_FAILURES_PER_ADDRESS
    assert failures_of(hall, ATTACKER) == MAX_FAILURES_PER_ADDRESS


def test_throttled_address_valid_callback(
    hall: Flask, client: FlaskClient, signature_checks: list[Any]
) -> None:
    number = submitted_application(hall)
    forge(client, number, MAX_FAILURES_PER_ADDRESS)
    checks = len(signature_checks)
    valid = send(client, ATTACKER, decision_for(number))
    assert valid.status_code == 429
    assert len(signature_checks) == checks
    assert stored(hall, number).status == "submitted"


def test_throttle_per_address(hall: Flask, client: FlaskClient) -> None:
    number = submitted_application(hall)
    forge(client, number, MAX_FAILURES_PER_ADDRESS)
    from_core = send(client, CORE, decision_for(number))
    assert from_core.status_code == 200
    assert from_core.get_json() == {"result": "applied"}
    assert stored(hall, number).status == "approved"


def test_valid_burst_not_throttled(hall: Flask, client: FlaskClient) -> None:
    number = submitted_application(hall)
    unknown = number[:-6] + "999999"
    results = []
    for index in range(3 * MAX_FAILURES_PER_ADDRESS):
        # Signed callbacks of every outcome: applied, unchanged and not found.
        target = unknown if index % 3 == 2 else number
        results.append(send(client, CORE, decision_for(target)).status_code)
    assert 429 not in results
    assert results.count(200) == 2 * MAX_FAILURES_PER_ADDRESS
    assert results.count(404) == MAX_FAILURES_PER_ADDRESS
    assert failures_of(hall, CORE) == 0
    assert callback_audits(hall, number) == 1


def test_replays_count_as_failures(hall: Flask, client: FlaskClient) -> None:
    number = submitted_application(hall)
    body, headers = signed_callback(decision_for(number))
    statuses = []
    for _ in range(MAX_FAILURES_PER_ADDRESS + 2):
        response = client.post(
            CALLBACK_PATH,
            data=body,
            headers={"Content-Type": "application/json", **headers},
            environ_base={"REMOTE_ADDR": ATTACKER},
        )
        statuses.append(response.status_code)
    # The first copy is applied and the next copies are replays, up to the limit.
    assert statuses[0] == 200
    assert statuses[1:-1] == [401] * MAX_FAILURES_PER_ADDRESS
    assert statuses[-1] == 429


def test_old_failures_age_out(hall: Flask, client: FlaskClient) -> None:
    number = submitted_application(hall)
    expired = utcnow() - FAILURE_WINDOW - dt.timedelta(seconds=1)
    with sessions_of(hall)() as session:
        for _ in range(MAX_FAILURES_PER_ADDRESS):
            session.add(CoreCallbackFailure(address=ATTACKER, at=expired))
        session.commit()
    allowed = send(client, ATTACKER, decision_for(number), secret="guessed")
    assert allowed.status_code == 401
    # Recording the new failure deletes those outside the window.
    assert failures_of(hall, ATTACKER) == 1


def test_forwarded_for_ignored_without_proxies(
    hall: Flask, client: FlaskClient
) -> None:
    assert hall.config["TRUSTED_PROXIES"] == 0
    number = submitted_application(hall)
    statuses = []
    for index in range(MAX_FAILURES_PER_ADDRESS + 1):
        # Each forged callback claims another sender in X-Forwarded-For.
        forged = send(
            client,
            ATTACKER,
            decision_for(number),
            forwarded_for=f"192.0.2.{index + 1}",
            secret="guessed",
        )
        statuses.append(forged.status_code)
    assert statuses[:-1] == [401] * MAX_FAILURES_PER_ADDRESS
    assert statuses[-1] == 429
    assert failures_of(hall, ATTACKER) == MAX_FAILURES_PER_ADDRESS
    assert failures_of(hall, "192.0.2.1") == 0


def test_proxied_forgeries_spare_core(proxied_hall: Flask) -> None:
    client = proxied_hall.test_client()
    number = submitted_application(proxied_hall)
    statuses = forge(client, number, MAX_FAILURES_PER_ADDRESS + 1, PROXY, ATTACKER)
    assert statuses[:-1] == [401] * MAX_FAILURES_PER_ADDRESS
    assert statuses[-1] == 429
    assert failures_of(proxied_hall, ATTACKER) == MAX_FAILURES_PER_ADDRESS
    assert failures_of(proxied_hall, PROXY) == 0

    from_core = send(client, PROXY, decision_for(number), forwarded_for=CORE)
    assert from_core.status_code == 200
    assert from_core.get_json() == {"result": "applied"}
    assert stored(proxied_hall, number).status == "approved"


def test_proxied_forged_prefix_counted(proxied_hall: Flask) -> None:
    # The attacker writes its own X-Forwarded-For and the proxy appends the address
    # it received the request from, so only the last entry is believed.
    client = proxied_hall.test_client()
    number = submitted_application(proxied_hall)
    statuses = []
    for index in range(MAX_FAILURES_PER_ADDRESS + 1):
        forged = send(
            client,
            PROXY,
            decision_for(number),
            forwarded_for=f"192.0.2.{index + 1}, {ATTACKER}",
            secret="guessed",
        )
        statuses.append(forged.status_code)
    assert statuses[-1] == 429
    assert failures_of(proxied_hall, ATTACKER) == MAX_FAILURES_PER_ADDRESS
    assert failures_of(proxied_hall, "192.0.2.1") == 0


def test_proxied_request_without_header(proxied_hall: Flask) -> None:
    # A request that reached the hall without passing the proxy keeps its own
    # address, so it cannot throttle the proxy's other senders under a made-up one.
    client = proxied_hall.test_client()
    number = submitted_application(proxied_hall)
    forge(client, number, 1, ATTACKER)
    assert failures_of(proxied_hall, ATTACKER) == 1


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_invalid_proxy_count_rejected(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("HALL_TRUSTED_PROXIES", value)
    with pytest.raises(ValueError, match="HALL_TRUSTED_PROXIES"):
        default_config(Path("instance"))


def test_proxy_count_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_TRUSTED_PROXIES", "2")
    assert default_config(Path("instance"))["TRUSTED_PROXIES"] == 2
    monkeypatch.delenv("HALL_TRUSTED_PROXIES")
    assert default_config(Path("instance"))["TRUSTED_PROXIES"] == 0
