"""The HTTP core: the core's operations as signed JSON requests to a configured URL.

Each call is `POST {base_url}/operations/{operation}` with the body
`{"caller": {...}, "params": {...}}` and returns `{"result": ...}`;
`GET {base_url}/operations` returns the operation names as the result. Amounts, dates and
times travel as tagged objects (`{"$decimal": "12.30"}`, `{"$date": "2026-01-31"}`,
`{"$datetime": "..."}`) so that both sides keep them exact. A rejection comes back as
status 422 with `{"error": {"kind", "message", "field"}}`.

Requests carry `X-Hall-Timestamp` (Unix seconds) and `X-Hall-Signature`, the hex
HMAC-SHA256 under a shared secret of the timestamp, method, path, idempotency key and
body, one per line. The server rejects a bad signature and a timestamp older or newer
than `MAX_CLOCK_SKEW` seconds. `Idempotency-Key` carries the application number, so a
repeated delivery is recognised by the core.

A status 4xx that means the request itself is invalid (400, 404 for an unknown
operation, 413, ...) raises `InvalidRequest` or `UnknownOperation`, which no retry can
fix. A failed signature (401, 403), 408, 409, 425, 429 and every 5xx raise
`CoreUnavailable`, which may pass.

The core reports a reviewer's decision back with `send_decision`: a signed
`POST {callback_url}` whose `X-Hall-Nonce` header takes the place of the idempotency
key in the signature, so the hall can reject a replay within the allowed clock skew.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.parse
import secrets
from collections.abc import Mapping
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from connectors.base import (
    Caller,
    CoreError,
    CoreUnavailable,
    NotFound,
    Rejected,
    UnknownOperation,
)

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Hall-Timestamp"
SIGNATURE_HEADER = "X-Hall-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
NONCE_HEADER = "X-Hall-Nonce"
MAX_CLOCK_SKEW = 300

# Statuses after which the same request may succeed later.
RETRYABLE_STATUSES = {401, 403, 408, 409, 425, 429}


class InvalidRequest(CoreError):
    """The core rejected the request itself as invalid, so a retry cannot succeed."""


# Wire format ------------------------------------------------------------------------


def _tagged(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(f"{type(value).__name__} cannot be sent to the core")


def _untagged(value: dict[str, Any]) -> Any:
    if len(value) == 1:
        ((tag, text),) = value.items()
        if tag == "$decimal":
            return Decimal(text)
        if tag == "$date":
            return dt.date.fromisoformat(text)
        if tag == "$datetime":
            return dt.datetime.fromisoformat(text)
    return value


def encode(value: Any) -> bytes:
    """Serialise a request or response body, keeping amounts and dates exact."""
    return json.dumps(value, ensure_ascii=False, default=_tagged).encode("utf-8")


def decode(body: bytes) -> Any:
    return json.loads(body.decode("utf-8"), object_hook=_untagged)


def caller_to_wire(caller: Caller) -> dict[str, Any]:
    return asdict(caller)


def caller_from_wire(value: Any) -> Caller:
    if not isinstance(value, Mapping) or value.get("hall") not in (
        "unit",
        "person",
        "staff",
    ):
        raise ValueError("caller must be an object with hall unit, person or staff")
    fields = ("unit_account", "person_account", "staff_id")
    extra = {name: value.get(name) for name in fields}
    if not all(item is None or isinstance(item, str) for item in extra.values()):
        raise ValueError("caller accounts must be strings or null")
    return Caller(hall=value["hall"], **extra)


# Signing ----------------------------------------------------------------------------


def signature(
    secret: str, timestamp: str, method: str, path: str, key: str, body: bytes
) -> str:
    """Return the hex HMAC-SHA256 of one request under the shared secret."""
    head = f"{timestamp}\n{method.upper()}\n{path}\n{key}\n".encode()
    return hmac.new(secret.encode("utf-8"), head + body, hashlib.sha256).hexdigest()


def signature_problem(
    secret: str,
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    now: float | None = None,
) -> str | None:
    """Return why a request's signature is not acceptable, or None when it is."""
    return _signature_problem(
        secret, headers, method, path, body, IDEMPOTENCY_HEADER, now
    )


def callback_signature_problem(
    secret: str,
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    now: float | None = None,
) -> str | None:
    """Return why a callback's signature is not acceptable, or None when it is.

    The caller still has to check that the nonce was not used before.
    """
    if not _valid_nonce(headers.get(NONCE_HEADER, "")):
        return "missing or invalid nonce"
    return _signature_problem(secret, headers, method, path, body, NONCE_HEADER, now)


def _valid_nonce(nonce: str) -> bool:
    return 16 <= len(nonce) <= 64 and all(
        character.isascii() and (character.isalnum() or character in "-_")
        for character in nonce
    )


def _signature_problem(
    secret: str,
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    key_header: str,
    now: float | None,
) -> str | None:
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    sent = headers.get(SIGNATURE_HEADER, "")
    # Both headers must be ASCII: int() rejects digits such as "²" that isdigit()
    # accepts, and hmac.compare_digest raises on a non-ASCII string.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return "missing or invalid signature headers"
    if not sent or not sent.isascii():
        return "missing or invalid signature headers"
    skew = abs((time.time() if now is None else now) - int(timestamp))
    if skew > MAX_CLOCK_SKEW:
        return f"timestamp is {skew:.0f} s away from the server clock"
    key = headers.get(key_header, "")
    expected = signature(secret, timestamp, method, path, key, body)
    if not hmac.compare_digest(expected, sent):
        return "signature does not match"
    return None


# The connector ----------------------------------------------------------------------


class HttpCore:
    """A core system reached over HTTP; a call that gets no usable response raises
    CoreUnavailable.

    `connect_timeout` bounds opening the connection and `read_timeout` each wait for
    response bytes, both in seconds. Operations whose params carry an
    `application_number` send it as the idempotency key.
    """

    def __init__(
        self,
        base_url: str,
        secret: str,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        operations: set[str] | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(
                f"core URL {base_url!r} is not an http:// or https:// URL; "
                "set HALL_CORE_URL to the core's base URL, e.g. http://127.0.0.1:8100"
            )
        if not secret:
            raise ValueError(
                "the HTTP core needs a shared secret; set HALL_CORE_SECRET"
            )
        self.scheme = parsed.scheme
        self.host = parsed.hostname
        self.port = parsed.port
        self.prefix = parsed.path.rstrip("/")
        self.secret = secret
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._operations = operations

    def operations(self) -> set[str]:
        """Return the core's operation names, asked from the core once."""
        if self._operations is None:
            listed = self._request("GET", "/operations", b"", "")
            self._operations = set(listed["result"])
        return set(self._operations)

    def call(
        self,
        operation: str,
        caller: Caller,
        params: Mapping[str, Any],
        idempotency_key: str | None = None,
    ) -> Any:
        key = idempotency_key or str(params.get("application_number") or "")
        body = encode({"caller": caller_to_wire(caller), "params": dict(params)})
        answer = self._request("POST", f"/operations/{operation}", body, key)
        return answer["result"]

    def _request(self, method: str, path: str, body: bytes, key: str) -> Any:
        full_path = self.prefix + path
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(
                self.secret, timestamp, method, full_path, key, body
            ),
        }
        if key:
            headers[IDEMPOTENCY_HEADER] = key
        connection = self._connect()
        try:
            assert connection.sock is not None
            connection.sock.settimeout(self.read_timeout)
            connection.request(method, full_path, body=body, headers=headers)
            response = connection.getresponse()
            status, payload = response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            raise CoreUnavailable(
                f"{method} {full_path} failed: {type(error).__name__}: {error}"
            ) from error
        finally:
            connection.close()
        return self._answer(method, full_path, status, payload)

    def _connect(self) -> http.client.HTTPConnection:
        kind = (
            http.client.HTTPSConnection
            if self.scheme == "https"
            else http.client.HTTPConnection
        )
        connection = kind(self.host, self.port, timeout=self.connect_timeout)
        try:
            connection.connect()
        except OSError as error:
            connection.close()
            raise CoreUnavailable(
                f"cannot connect to the core at {self.host}:{self.port}: {error}"
            ) from error
        return connection

    def _answer(self, method: str, path: str, status: int, payload: bytes) -> Any:
        try:
            answer = decode(payload) if payload else {}
        except (UnicodeDecodeError, ValueError):
            answer = None
        if status == 200 and isinstance(answer, dict) and "result" in answer:
            return answer
        error = answer.get("error") if isinstance(answer, dict) else None
        if status == 422 and isinstance(error, dict):
            kind = NotFound if error.get("kind") == "not_found" else Rejected
            raise kind(str(error.get("message", "")), field=error.get("field"))
        if status == 404 and isinstance(error, dict):
            raise UnknownOperation(str(error.get("message", "")))
        if status in (401, 403):
            log.error(
                "the core rejected the signature of %s %s; check HALL_CORE_SECRET "
                "and the clocks of both machines",
                method,
                path,
            )
            raise CoreUnavailable(f"{method} {path}: the core rejected the signature")
        if status >= 500 or status == 200 or status in RETRYABLE_STATUSES:
            raise CoreUnavailable(f"{method} {path}: the core returned status {status}")
        if 400 <= status < 500:
            message = error.get("message", "") if isinstance(error, dict) else ""
            raise InvalidRequest(
                f"{method} {path}: the core rejected the request as invalid "
                f"(status {status}) {message}".rstrip()
            )
        raise CoreError(f"{method} {path}: unexpected status {status} from the core")


# Decisions reported back to the hall --------------------------------------------------


def send_decision(
    callback_url: str,
    secret: str,
    decision: Mapping[str, Any],
    timeout: float = 10.0,
) -> int:
    """POST a signed decision to the hall's callback URL and return the status.

    Every call gets a new nonce and timestamp, so a retry after a lost response is a
    new request. The hall applies a decision it already stored only once. Raises
    CoreUnavailable when no response arrives.
    """
    parsed = urllib.parse.urlsplit(callback_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"callback URL {callback_url!r} is not an http(s) URL")
    path = parsed.path or "/"
    body = encode(dict(decision))
    timestamp = str(int(time.time()))
    nonce = secrets.token_urlsafe(24)
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(secret, timestamp, "POST", path, nonce, body),
    }
    kind = (
        http.client.HTTPSConnection
        if parsed.scheme == "https"
        else http.client.HTTPConnection
    )
    connection = kind(parsed.hostname, parsed.port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException) as error:
        raise CoreUnavailable(
            f"POST {path} failed: {type(error).__name__}: {error}"
        ) from error
    finally:
        connection.close()
