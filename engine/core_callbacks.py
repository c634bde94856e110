"""The endpoint where an HTTP core reports reviewers' decisions back to the hall.

`POST /core/decisions` takes the JSON body `{"application_number", "caller": {"hall",
"unit_account", "person_account"}, "status": "approved" or "returned", "comment"}`.
It is signed like the hall's requests to the core (see `connectors.http`), with the
`X-Hall-Nonce` header in the place of the idempotency key. The endpoint returns 401 for
a bad or old signature and for a nonce it has seen, and 404 for an application that is
unknown or belongs to another caller, with the same body in both cases. A decision the
application already has returns 200 and changes nothing, so the core may repeat one.
An address with MAX_FAILURES_PER_ADDRESS responses of 401 in FAILURE_WINDOW gets 429,
before its signature is checked, until its failures age out of the window. The address
is `request.remote_addr`, which `HALL_TRUSTED_PROXIES` (see `engine.proxies`) takes
from X-Forwarded-For behind reverse proxies.
Without `HALL_CORE_SECRET` the endpoint does not exist.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.base import Caller
from connectors.http import (
    MAX_CLOCK_SKEW,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    callback_signature_problem,
)
from engine.app import current_hall
from engine.decisions import CONFLICT, DECISIONS, NOT_FOUND, apply_decision
from engine.storage.models import CoreCallbackFailure, CoreCallbackNonce, utcnow
from engine.submission import valid_number

log = logging.getLogger(__name__)

callbacks = Blueprint("core_callbacks", __name__)

DECISION_PATH = "/core/decisions"
MAX_BODY = 64 * 1024
MAX_COMMENT_LENGTH = 500
# A callback the core signs fails only when its clock or secret is wrong, while a
# forged one always fails. Only failures are counted, so valid callbacks never add up.
FAILURE_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 20


class InvalidDecision(ValueError):
    """A callback body that is not a valid decision. The message names the field."""


@callbacks.post(DECISION_PATH)
def decision() -> Response:
    secret = current_app.config.get("HALL_CORE_SECRET") or ""
    if not secret:
        return _answer(404, {"error": {"kind": "not_found", "message": "未启用"}})

    address = _address()
    factory = current_hall().session_factory
    with factory() as session:
        throttled = failures_throttled(session, address)
    if throttled:
        log.warning("decision callbacks throttled for %s", address)
        return _throttled()

    if (request.content_length or 0) > MAX_BODY:
        return _error(413, "too_large", f"请求体不能超过 {MAX_BODY} 字节")
    body = _read_body(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return _error(413, "too_large", f"请求体不能超过 {MAX_BODY} 字节")

    headers = {
        name: request.headers.get(name, "")
        for name in (TIMESTAMP_HEADER, SIGNATURE_HEADER, NONCE_HEADER)
    }
    path = request.script_root + request.path
    problem = callback_signature_problem(secret, headers, "POST", path, body)
    if problem is not None:
        log.warning("rejected a decision callback from %s: %s", address, problem)
        with factory() as session:
            record_failure(session, address)
        return _error(401, "signature", "签名无效或已过期")

    with factory() as session:
        if not remember_nonce(session, headers[NONCE_HEADER]):
            log.warning("rejected a replayed decision callback from %s", address)
            record_failure(session, address)
            return _error(401, "signature", "签名无效或已过期")
        try:
            number, caller, status, comment = parse_decision(body)
        except InvalidDecision as invalid:
            log.warning("rejected an invalid decision callback: %s", invalid)
            return _error(400, "bad_request", str(invalid))
        outcome = apply_decision(session, number, caller, status, comment)

    if outcome == NOT_FOUND:
        return _error(404, "not_found", "未找到该申报")
    if outcome == CONFLICT:
        return _error(409, "conflict", f"申报 {number} 已有其他处理结果，未作更改")
    return _answer(200, {"result": outcome})


def _read_body(limit: int) -> bytes:
    """Read at most `limit` bytes of the body, which may be chunked and unbounded.

    A chunked body has no Content-Length to check first, and reading it whole
    would buffer up to the app's MAX_CONTENT_LENGTH before the signature is checked.
    """
    parts = []
    size = 0
    while size < limit:
        chunk = request.stream.read(limit - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _address() -> str:
    return (request.remote_addr or "unknown")[:64]


def failures_throttled(session: Session, address: str) -> bool:
    """Tell whether an address has failed too many callbacks in the window."""
    since = utcnow() - FAILURE_WINDOW
    failures = session.scalar(
        select(func.count())
        .select_from(CoreCallbackFailure)
        .where(CoreCallbackFailure.address == address, CoreCallbackFailure.at >= since)
    )
    return (failures or 0) >= MAX_FAILURES_PER_ADDRESS


def record_failure(session: Session, address: str) -> None:
    """Count a failed callback of an address, deleting failures older than the window."""
    cutoff = utcnow() - FAILURE_WINDOW
    session.execute(delete(CoreCallbackFailure).where(CoreCallbackFailure.at < cutoff))
    session.add(CoreCallbackFailure(address=address))
    session.commit()


def _throttled() -> Response:
    minutes = int(FAILURE_WINDOW.total_seconds() // 60)
    response = _error(
        429, "throttled", f"签名校验失败次数过多，请 {minutes} 分钟后再试"
    )
    # The window's length is the longest wait, since by then every counted failure
    # has aged out.
    response.headers["Retry-After"] = str(int(FAILURE_WINDOW.total_seconds()))
    return response


def remember_nonce(session: Session, nonce: str) -> bool:
    """Store a callback's nonce; False when it was stored before (a replay).

    Nonces older than twice the allowed clock skew are deleted first: a callback that
    old is rejected by its timestamp before its nonce is looked up.
    """
    cutoff = utcnow() - dt.timedelta(seconds=2 * MAX_CLOCK_SKEW)
    expired = delete(CoreCallbackNonce).where(CoreCallbackNonce.received_at < cutoff)
    session.execute(expired)
    session.commit()
    session.add(CoreCallbackNonce(nonce=nonce, received_at=utcnow()))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def parse_decision(body: bytes) -> tuple[str, Caller, str, str | None]:
    """Validate a callback body; raise InvalidDecision naming the first bad field."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidDecision("请求体应为 UTF-8 编码的 JSON 对象") from None
    if not isinstance(data, dict):
        raise InvalidDecision("请求体应为 JSON 对象")
    number = data.get("application_number")
    if not isinstance(number, str) or not valid_number(number):
        raise InvalidDecision("application_number：应为申报编号，如 U20261204000001")
    status = data.get("status")
    if status not in DECISIONS:
        raise InvalidDecision("status：应为 approved 或 returned")
    comment = data.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise InvalidDecision("comment：应为文字或 null")
    comment = (comment or "").strip() or None
    if status == "returned" and comment is None:
        raise InvalidDecision("comment：退回时应填写退回原因")
    if comment is not None and len(comment) > MAX_COMMENT_LENGTH:
        raise InvalidDecision(f"comment：最多 {MAX_COMMENT_LENGTH} 个字符")
    return number, _parse_caller(data.get("caller")), status, comment


def _parse_caller(value: Any) -> Caller:
    if not isinstance(value, dict) or value.get("hall") not in ("unit", "person"):
        raise InvalidDecision("caller.hall：应为 unit 或 person")
    hall = value["hall"]
    name = "unit_account" if hall == "unit" else "person_account"
    account = value.get(name)
    if not isinstance(account, str) or not account.isdigit() or len(account) > 20:
        raise InvalidDecision(f"caller.{name}：应为数字组成的账号")
    return Caller(hall=hall, **{name: account})


def _error(status: int, kind: str, message: str) -> Response:
    return _answer(status, {"error": {"kind": kind, "message": message}})


def _answer(status: int, body: dict[str, Any]) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        mimetype="application/json",
    )
