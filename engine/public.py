"""Public account services, served without a login: a forgotten password, for one.

Such a spec has kind account, `public: true`, `steps` and an SMS `verification` with
a `check` operation. The check finds, from what was typed, whose registered mobile
receives the code. Every failure gives the same answer, so nobody learns whether an
ID number or account is known, and failures are throttled like logins.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request

from connectors.base import Caller, CoreError, NotFound, Rejected
from engine.app import current_hall, db
from engine.auth import throttled
from engine.forms import FormRuntime, FormState
from engine.identifiers import mask_mobile
from engine.service import Service
from engine.sms import SmsThrottled, check_code, issue_code, use_up_code
from engine.storage.models import AuditEntry, LoginAttempt

log = logging.getLogger(__name__)

public = Blueprint("public", __name__, url_prefix="/<any(unit, person):hall>/public")

NOT_VERIFIED = "核验未通过：信息与登记的不符，或短信验证码错误，请核对后重试"
TOO_MANY = "尝试次数过多，请15分钟后再试"


def _service(hall: str, service_id: str) -> Service:
    service = current_hall().services.get(service_id)
    if service is None or service.hall != hall or not service.public:
        abort(404)
    return service


def _step_fields(service: Service, index: int) -> set[str]:
    if not service.steps:
        return {item.name for item in service.fields}
    return set(service.steps[index]["fields"])


def _render(
    service: Service,
    state: FormState,
    step: int,
    status: int = 200,
    notice: str = "",
    done: bool = False,
) -> Any:
    shown = _step_fields(service, step)
    carried = {
        name: value
        for name, value in state.raw.items()
        if name not in shown and service.field(name).type != "password"
    }
    body = render_template(
        "public_service.html",
        service=service,
        state=state,
        step=step,
        shown=shown,
        carried=carried,
        last=step == max(len(service.steps) - 1, 0),
        notice=notice,
        done=done,
    )
    return body, status


@public.route("/<service_id>", methods=["GET", "POST"])
def service_page(hall: str, service_id: str) -> Any:
    service = _service(hall, service_id)
    runtime = FormRuntime(
        service, current_hall().router, Caller(hall), current_hall().figures()
    )
    if request.method == "GET":
        return _render(service, runtime.blank(), 0)
    state = runtime.from_input(request.form)
    last = max(len(service.steps) - 1, 0)
    step = request.form.get("_step", "0")
    step = min(int(step), last) if step.isdigit() else 0
    action = request.form.get("_action", "")

    if action == "back":
        state.errors.clear()
        state.form_errors.clear()
        return _render(service, state, max(step - 1, 0))
    if action == "send_code" and step == last:
        return _render(service, state, step, notice=_send_code(service, hall, state))

    data = runtime.validate(state)
    if step < last:
        # Only the fields of this step must be right before the next one.
        shown = _step_fields(service, step)
        for name in list(state.errors):
            if name not in shown:
                del state.errors[name]
        state.form_errors.clear()
        if state.errors:
            return _render(service, state, step, 400)
        return _render(service, state, step + 1)
    if data is None:
        return _render(service, state, step, 400)
    return _finish(service, hall, state, step, data)


def _attempt_subject(service: Service, state: FormState) -> str:
    """Key throttling on what the first step asked for, such as the ID number."""
    names = sorted(_step_fields(service, 0))
    key = "/".join(str(state.raw.get(name, "")).strip().upper() for name in names)
    return key[:40]


def _check(service: Service, hall: str, data: dict[str, Any]) -> dict[str, Any] | None:
    # The check needs the identifying details only; passwords stay in the hall.
    details = {
        name: value
        for name, value in data.items()
        if name in {item.name for item in service.fields if item.type != "password"}
    }
    try:
        answer = current_hall().router.call(
            service.verification_check or "", Caller(hall), details
        )
    except (Rejected, NotFound):
        return None
    return answer if isinstance(answer, dict) and answer.get("subject") else None


def _send_code(service: Service, hall: str, state: FormState) -> str:
    """Send a code only when the details match; the notice is the same either way."""
    typed = str(state.values.get("mobile") or state.raw.get("mobile") or "")
    notice = f"如信息无误，验证码已发送至 {mask_mobile(typed)}，5分钟内有效"
    answer = _check(service, hall, dict(state.values))
    if answer is None:
        return notice
    try:
        issue_code(
            db(),
            current_hall().sms,
            current_app.secret_key,
            hall,
            answer["subject"],
            service.id,
            answer["mobile"],
        )
    except SmsThrottled:
        log.info("public code for %s throttled", service.id)
    return notice


def _finish(
    service: Service, hall: str, state: FormState, step: int, data: dict[str, Any]
) -> Any:
    subject_key = _attempt_subject(service, state)
    if throttled(_attempt_hall(hall), subject_key):
        state.form_errors.append(TOO_MANY)
        return _render(service, state, step, 429)
    code = request.form.get("_sms_code", "").strip()
    if not code.isdigit() or len(code) != 6:
        state.errors["_sms_code"] = "短信验证码应为6位数字"
        return _render(service, state, step, 400)

    answer = _check(service, hall, data)
    secret = current_app.secret_key
    if answer is None or not check_code(
        db(), secret, hall, answer["subject"], service.id, code, use_up=False
    ):
        _record(hall, subject_key, False)
        state.form_errors.append(NOT_VERIFIED)
        return _render(service, state, step, 400)

    subject = answer["subject"]
    key = "unit_account" if hall == "unit" else "person_account"
    try:
        current_hall().router.call(
            service.submit_operation or "", Caller(hall, **{key: subject}), data
        )
    except Rejected as error:
        if error.field in {item.name for item in service.fields}:
            state.errors[error.field] = error.message
        else:
            state.form_errors.append(error.message)
        return _render(service, state, step, 400)
    except CoreError as error:
        log.error("public service %s failed: %s", service.id, error)
        state.form_errors.append("系统暂时无法办理，请稍后再试")
        return _render(service, state, step, 503)
    use_up_code(db(), hall, subject, service.id)
    _record(hall, subject_key, True)
    db().add(AuditEntry(hall=hall, actor=subject, action=service.id))
    db().commit()
    return _render(service, state, step, notice=service.success_message, done=True)


def _record(hall: str, subject: str, succeeded: bool) -> None:
    db().add(
        LoginAttempt(
            hall=_attempt_hall(hall),
            subject=subject,
            address=(request.remote_addr or "unknown")[:64],
            succeeded=succeeded,
        )
    )
    db().commit()
    if not succeeded:
        log.warning("public service check failed from %s", request.remote_addr)


def _attempt_hall(hall: str) -> str:
    """Return the key that counts a hall's public attempts apart from its logins.

    It fits the ten characters of `login_attempt.hall`, which PostgreSQL enforces.
    """
    return f"{hall}-pub"
