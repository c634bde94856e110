"""The HTTP core connector against the embedded core served over HTTP."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import time
from decimal import Decimal
from typing import Any

import pytest
from delivery_support import SECRET, UNIT_A, CoreServer, free_port

from connectors.base import Caller, CoreUnavailable, NotFound, Rejected
from connectors.embedded.http_server import CoreHttpApp
from connectors.router import routes_from_text
from engine import create_app
from connectors.http import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    HttpCore,
    decode,
    encode,
    signature,
)

UNIT = Caller("unit", unit_account=UNIT_A)
PERSON = Caller("person", person_account="020100000001")
NEW_ID = "11010519900101007X"


def connector(server: CoreServer, **options: Any) -> HttpCore:
    return HttpCore(server.url, SECRET, **options)


@pytest.mark.parametrize(
    ("operation", "caller", "params"),
    [
        ("unit.employees", UNIT, {}),  # Decimal bases in a list of rows
        ("unit.profile", UNIT, {}),
        ("person.lookup", UNIT, {"id_number": NEW_ID}),  # a birth date
        ("person.account", PERSON, {}),
        ("ledger.entry_types", PERSON, {}),
    ],
)
def test_results_equal_embedded(
    core_server: CoreServer,
    core_app: CoreHttpApp,
    operation: str,
    caller: Caller,
    params: dict[str, Any],
) -> None:
    expected = core_app.core.call(operation, caller, params)
    assert connector(core_server).call(operation, caller, params) == expected


def test_types_survive_the_wire() -> None:
    value = {
        "amount": Decimal("1234.50"),
        "day": dt.date(2026, 12, 4),
        "at": dt.datetime(2026, 12, 4, 8, 30, 1),
        "rows": [{"base": Decimal("0.01")}],
    }
    decoded = decode(encode(value))
    assert decoded == value
    assert isinstance(decoded["amount"], Decimal)
    assert type(decoded["day"]) is dt.date


def test_operations_listed(core_server: CoreServer, core_app: CoreHttpApp) -> None:
    # The server adds the status of a review, which the hall polls for decisions.
    expected = core_app.core.operations() | {"review.status"}
    assert connector(core_server).operations() == expected


def test_rejection_keeps_message_and_field(core_server: CoreServer) -> None:
    core = connector(core_server)
    with pytest.raises(Rejected) as rejected:
        core.call("person.lookup", UNIT, {"id_number": "110105199001010071"})
    assert rejected.value.field == "id_number"
    assert "证件号码" in rejected.value.message
    with pytest.raises(NotFound) as missing:
        core.call("person.resolve", Caller("person"), {"login_id": "999999999999"})
    assert missing.value.field == "login_id"


def raw_post(
    server: CoreServer, body: bytes, timestamp: int, secret: str = SECRET, key: str = ""
) -> tuple[int, Any]:
    path = "/operations/unit.profile"
    headers = {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, str(timestamp), "POST", path, key, body),
        "Content-Type": "application/json",
    }
    if key:
        headers[IDEMPOTENCY_HEADER] = key
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


BODY = encode({"caller": {"hall": "unit", "unit_account": UNIT_A}, "params": {}})


def test_signed_request_accepted(core_server: CoreServer) -> None:
    status, answer = raw_post(core_server, BODY, int(time.time()))
    assert status == 200
    assert "result" in answer


@pytest.mark.parametrize(
    ("age", "secret", "problem"),
    [
        (301, SECRET, "timestamp"),  # older than the allowed clock skew
        (-301, SECRET, "timestamp"),  # from the future
        (0, "another-secret", "signature does not match"),
    ],
)
def test_bad_signature_rejected(
    core_server: CoreServer, age: int, secret: str, problem: str
) -> None:
    status, answer = raw_post(core_server, BODY, int(time.time()) - age, secret)
    assert status == 401
    assert problem in answer["error"]["message"]


def test_tampered_key_rejected(core_server: CoreServer) -> None:
    """The idempotency key is signed: changing it after signing is caught."""
    timestamp = str(int(time.time()))
    path = "/operations/unit.profile"
    headers = {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(SECRET, timestamp, "POST", path, "A", BODY),
        IDEMPOTENCY_HEADER: "B",
    }
    connection = http.client.HTTPConnection("127.0.0.1", core_server.port, timeout=5)
    connection.request("POST", path, body=BODY, headers=headers)
    assert connection.getresponse().status == 401
    connection.close()


def test_wrong_secret_is_unavailable(core_server: CoreServer) -> None:
    core = HttpCore(core_server.url, "another-secret")
    with pytest.raises(CoreUnavailable, match="rejected the signature"):
        core.call("unit.profile", UNIT, {})


def test_repeated_key_runs_once(core_server: CoreServer, core_app: CoreHttpApp) -> None:
    first = raw_post(core_server, BODY, int(time.time()), key="U20261204000001")
    second = raw_post(core_server, BODY, int(time.time()), key="U20261204000001")
    assert first == second
    assert core_app.executions["U20261204000001"] == 1


def test_refused_connection_is_unavailable() -> None:
    core = HttpCore(f"http://127.0.0.1:{free_port()}", SECRET, connect_timeout=1)
    with pytest.raises(CoreUnavailable, match="cannot connect"):
        core.call("unit.profile", UNIT, {})


def slow_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    time.sleep(1.0)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"result": null}']


def failing_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
    return [b"failed"]


def test_read_timeout_is_unavailable() -> None:
    server = CoreServer(slow_app)
    server.start()
    try:
        core = HttpCore(server.url, SECRET, read_timeout=0.2)
        started = time.monotonic()
        with pytest.raises(CoreUnavailable, match="timed out"):
            core.call("unit.profile", UNIT, {})
        assert time.monotonic() - started < 0.9
    finally:
        server.stop()


def test_server_error_is_unavailable() -> None:
    server = CoreServer(failing_app)
    server.start()
    try:
        with pytest.raises(CoreUnavailable, match="status 500"):
            HttpCore(server.url, SECRET).call("unit.profile", UNIT, {})
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("url", "secret", "message"),
    [
        ("ftp://127.0.0.1/", SECRET, "not an http:// or https:// URL"),
        ("http://127.0.0.1:8100", "", "HALL_CORE_SECRET"),
    ],
)
def test_bad_configuration_named(url: str, secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HttpCore(url, secret)


@pytest.mark.parametrize(
    ("text", "routes"),
    [
        ("*=http", {"*": "http"}),
        (" *=http , applications.*=hall ", {"*": "http", "applications.*": "hall"}),
    ],
)
def test_routes_read_from_text(text: str, routes: dict[str, str]) -> None:
    assert routes_from_text(text) == routes


@pytest.mark.parametrize("text", ["*", "*=", "=http", "*=http,,"])
def test_bad_route_named(text: str) -> None:
    with pytest.raises(ValueError, match="is not pattern=connector"):
        routes_from_text(text)


def test_app_routes_to_http_core(
    core_server: CoreServer, core_app: CoreHttpApp, database_url: str, tmp_path: Any
) -> None:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-secret",
            "HALL_CORE_URL": core_server.url,
            "HALL_CORE_SECRET": SECRET,
            "HALL_ROUTES": {"*": "http", "applications.*": "hall"},
        }
    )
    try:
        router = app.extensions["hall"].router
        assert isinstance(router.connector_for("unit.profile"), HttpCore)
        assert router.call("unit.profile", UNIT, {}) == core_app.core.call(
            "unit.profile", UNIT, {}
        )
        assert not isinstance(router.connector_for("applications.list"), HttpCore)
    finally:
        app.extensions["hall"].session_factory.kw["bind"].dispose()
