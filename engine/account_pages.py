"""Pages of account services: a form whose operation runs at once, with no review."""

from __future__ import annotations

import logging
from typing import Any

from flask import request, session

from connectors.base import CoreError, NotFound, Rejected
from engine.app import current_hall
from engine.service import Service
from engine.views import _caller, _check_extras, _form_action, _render, _runtime

log = logging.getLogger(__name__)


def account_page(service: Service) -> Any:
    """Show the form, or check it and run the spec's operation for the caller.

    The operation gets the clean data plus `agreement` (the service id and version
    whose agreement was accepted) and the client's `address`. A result carrying
    `session_epoch` renews the current session, so it survives the end of the
    caller's other sessions.
    """
    runtime = _runtime(service)
    if request.method == "GET":
        return _render(service, runtime.blank())
    state = runtime.from_input(request.form)
    action = request.form.get("_action", "")
    if action == "send_code":
        notice = _form_action(service, runtime, state, None, action)
        return _render(service, state, notice=notice)

    extra_errors = _check_extras(service, _caller(), None)
    data = runtime.validate(state)
    if data is None or extra_errors:
        return _render(service, state, 400, extra_errors=extra_errors)
    params = {
        **data,
        "agreement": f"{service.id}@{service.version}",
        "address": (request.remote_addr or "")[:64],
    }
    try:
        result = current_hall().router.call(
            service.submit_operation or "", _caller(), params
        )
    except (Rejected, NotFound) as error:
        state.errors[error.field or "_form"] = error.message
        return _render(service, state, 400)
    except CoreError as error:
        log.error("account service %s failed: %s", service.id, error)
        state.form_errors.append("系统暂时无法办理，请稍后再试")
        return _render(service, state, 503)
    if isinstance(result, dict) and "session_epoch" in result:
        session["epoch"] = result["session_epoch"]
    log.info("account service %s done", service.id)
    return _render(service, runtime.blank(), notice=service.success_message)
