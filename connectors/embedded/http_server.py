"""Serve the embedded core over HTTP in the format `connectors.http` speaks.

`CoreHttpApp` is a WSGI application. It checks each request's signature, runs the
operation on the wrapped connector and stores the response of every request that
carried an `Idempotency-Key`. A repeated key gets the stored response without running
the operation again, and a repeat that arrives while the first still runs waits for
it. `executions` counts how often each key really ran, which the tests read.

NOTE: the stored responses live in this process's memory, so a restarted server
forgets them; the embedded core still ignores an application number it has queued.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from connectors.base import Connector, NotFound, Rejected, UnknownOperation
from connectors.http import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    caller_from_wire,
    decode,
    encode,
    signature_problem,
)

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Answer = tuple[str, bytes]

MAX_BODY = 16 * 1024 * 1024
PREFIX = "/operations/"


class CoreHttpApp:
    """A WSGI application that runs a connector's operations for signed requests."""

    def __init__(self, core: Connector, secret: str) -> None:
        self.core = core
        self.secret = secret
        self.executions: Counter[str] = Counter()
        self._answers: dict[str, Answer] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        status, body = self._handle(environ)
        start_response(
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _handle(self, environ: dict[str, Any]) -> Answer:
        method = environ["REQUEST_METHOD"]
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        body = _read_body(environ)
        if body is None:
            return _error(
                "413 Content Too Large", "too_large", "request body too large"
            )
        headers = {
            name: environ.get("HTTP_" + name.upper().replace("-", "_"), "")
            for name in (TIMESTAMP_HEADER, SIGNATURE_HEADER, IDEMPOTENCY_HEADER)
        }
        problem = signature_problem(self.secret, headers, method, path, body)
        if problem is not None:
            log.warning("rejected a request to %s: %s", path, problem)
            return _error("401 Unauthorized", "signature", problem)
        if method == "GET" and environ.get("PATH_INFO") == "/operations":
            return "200 OK", encode({"result": sorted(self.core.operations())})
        if method != "POST" or not environ.get("PATH_INFO", "").startswith(PREFIX):
            return _error("404 Not Found", "not_found", f"no route for {method} {path}")
        operation = environ["PATH_INFO"][len(PREFIX) :]
        key = headers[IDEMPOTENCY_HEADER]
        if not key:
            return self._run(operation, body)
        return self._run_once(f"{operation}\n{key}", operation, body)

    def _run_once(self, slot: str, operation: str, body: bytes) -> Answer:
        with self._guard:
            lock = self._key_locks.setdefault(slot, threading.Lock())
        with lock:
            earlier = self._answers.get(slot)
            if earlier is not None:
                return earlier
            answer = self._run(operation, body)
            if answer[0].startswith(("200", "422")):
                self._answers[slot] = answer
                self.executions[slot.split("\n", 1)[1]] += 1
            return answer

    def _run(self, operation: str, body: bytes) -> Answer:
        try:
            request = decode(body)
            caller = caller_from_wire(request.get("caller"))
            params = request.get("params")
            if not isinstance(params, dict):
                raise TypeError("params must be an object")
        except (ValueError, TypeError, AttributeError) as error:
            return _error("400 Bad Request", "bad_request", str(error))
        try:
            result = self.core.call(operation, caller, params)
        except UnknownOperation as error:
            return _error("404 Not Found", "unknown_operation", str(error))
        except NotFound as error:
            return _error(
                "422 Unprocessable Content", "not_found", error.message, error.field
            )
        except Rejected as error:
            return _error(
                "422 Unprocessable Content", "rejected", error.message, error.field
            )
        except Exception:  # the client retries an internal error
            log.exception("operation %s failed", operation)
            return _error("500 Internal Server Error", "internal", "operation failed")
        return "200 OK", encode({"result": result})


def _read_body(environ: dict[str, Any]) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return None
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _error(status: str, kind: str, message: str, field: str | None = None) -> Answer:
    body = {"error": {"kind": kind, "message": message, "field": field}}
    return status, json.dumps(body, ensure_ascii=False).encode("utf-8")
