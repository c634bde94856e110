"""Serve the embedded core over HTTP in the format `connectors.http` speaks.

`CoreHttpApp` is a WSGI application. It checks each request's signature, runs the
operation on the wrapped connector and stores the response of every request that
carried an `Idempotency-Key`. A repeated key gets the stored response without running
the operation again, and a repeat that arrives while the first still runs waits for
it. `executions` counts how often each key really ran, which the tests read.

The centre's staff decide over the same signed requests: `GET /staff/reviews` lists
the undecided applications and `POST /staff/reviews/{number}` with
`{"decision": "approve" or "return", "staff_id", "comment"}` decides one. With a
`callback_url`, each decision is then sent to the hall with `send_decision`; one
that gets no response, a 401, a 429 or a 5xx is kept in `unsent_decisions` until
`resend_decisions` delivers it.

The server also serves the operation `review.status` itself, with params
`{"number"}`: the caller's application's `{"status": "pending", "approved" or
"returned", "comment"}`, or not_found. The hall's delivery worker polls it for the
decisions on delivered applications, in case a callback was lost.

NOTE: the stored responses and the unsent decisions live in this process's memory, so
a restarted server loses them. The embedded core still ignores an application number
it has queued, and the hall's polling picks up a decision whose callback was lost.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from connectors.base import (
    Connector,
    CoreUnavailable,
    NotFound,
    Rejected,
    UnknownOperation,
)
from connectors.http import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    caller_from_wire,
    decode,
    encode,
    send_decision,
    signature_problem,
)

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Answer = tuple[str, bytes]

MAX_BODY = 16 * 1024 * 1024
PREFIX = "/operations/"
STAFF_PREFIX = "/staff/reviews"
DECISION_OPERATION = "review.status"


class CoreHttpApp:
    """A WSGI application that runs a connector's operations for signed requests."""

    def __init__(
        self, core: Connector, secret: str, callback_url: str | None = None
    ) -> None:
        self.core = core
        self.secret = secret
        self.callback_url = callback_url
        self.executions: Counter[str] = Counter()
        self.unsent_decisions: list[dict[str, Any]] = []
        self.callback_statuses: list[int] = []
        self._answers: dict[str, Answer] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        if callback_url is not None:
            # The embedded core calls this after it commits a reviewer's decision.
            core.on_decision = self._report_decision  # type: ignore[attr-defined]

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
            listed = self.core.operations() | {DECISION_OPERATION}
            return "200 OK", encode({"result": sorted(listed)})
        if environ.get("PATH_INFO", "").startswith(STAFF_PREFIX):
            return self._staff(method, environ["PATH_INFO"], body)
        if method != "POST" or not environ.get("PATH_INFO", "").startswith(PREFIX):
            return _error("404 Not Found", "not_found", f"no route for {method} {path}")
        operation = environ["PATH_INFO"][len(PREFIX) :]
        if operation == DECISION_OPERATION:
            # The result changes over time, so no stored response is returned for it.
            return self._decision_status(body)
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


    # The staff desk ------------------------------------------------------------------

    def _staff(self, method: str, path: str, body: bytes) -> Answer:
        core: Any = self.core
        if method == "GET" and path == STAFF_PREFIX:
            return "200 OK", encode({"result": core.pending_reviews()})
        number = path[len(STAFF_PREFIX) + 1 :]
        if method != "POST" or not path.startswith(STAFF_PREFIX + "/") or not number:
            return _error("404 Not Found", "not_found", f"no route for {method} {path}")
        try:
            request = decode(body)
            decision = request["decision"]
            staff_id = str(request.get("staff_id") or "reviewer")
            comment = str(request.get("comment") or "")
        except (ValueError, TypeError, KeyError) as error:
            message = f"invalid decision: {error}"
            return _error("400 Bad Request", "bad_request", message)
        try:
            if decision == "approve":
                core.approve(number, staff_id)
            elif decision == "return" and comment:
                core.return_application(number, staff_id, comment)
            else:
                message = "decision must be approve, or return with a comment"
                return _error("400 Bad Request", "bad_request", message)
        except NotFound as error:
            return _error("404 Not Found", "not_found", error.message)
        except Rejected as error:
            return _error("409 Conflict", "rejected", error.message)
        return "200 OK", encode({"result": "decided"})

    def _decision_status(self, body: bytes) -> Answer:
        core: Any = self.core
        try:
            request = decode(body)
            caller = caller_from_wire(request.get("caller"))
            number = request["params"]["number"]
            if not isinstance(number, str):
                raise TypeError("params.number must be a string")
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            return _error("400 Bad Request", "bad_request", str(error))
        missing = _error("422 Unprocessable Content", "not_found", "未找到该申报")
        try:
            item = core.review_item(number)
        except NotFound:
            return missing
        # Only the application's own unit or depositor learns its status.
        owner = (item["hall"], item["unit_account"], item["person_account"])
        if owner != (caller.hall, caller.unit_account, caller.person_account):
            return missing
        result = {"status": item["status"], "comment": item["comment"]}
        return "200 OK", encode({"result": result})

    def _report_decision(self, number: str, status: str, comment: str | None) -> None:
        core: Any = self.core
        item = core.review_item(number)
        decision = {
            "application_number": number,
            "caller": {
                "hall": item["hall"],
                "unit_account": item["unit_account"],
                "person_account": item["person_account"],
            },
            "status": status,
            "comment": comment,
        }
        if not self._send(decision):
            with self._guard:
                self.unsent_decisions.append(decision)

    def resend_decisions(self) -> int:
        """Send the decisions the hall did not accept before; return how many remain."""
        with self._guard:
            waiting, self.unsent_decisions = self.unsent_decisions, []
        failed = [decision for decision in waiting if not self._send(decision)]
        with self._guard:
            self.unsent_decisions.extend(failed)
            return len(self.unsent_decisions)

    def _send(self, decision: dict[str, Any]) -> bool:
        assert self.callback_url is not None
        number = decision["application_number"]
        try:
            status = send_decision(self.callback_url, self.secret, decision)
        except CoreUnavailable as error:
            log.warning("decision on %s not sent to the hall: %s", number, error)
            return False
        self.callback_statuses.append(status)
        if status != 200:
            log.warning("the hall responded to decision %s with %d", number, status)
        # A 4xx other than 401 and 429 means the decision is invalid, so it is not
        # resent. A 429 means the hall throttles this address for a while.
        return status < 500 and status not in (401, 429)


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
