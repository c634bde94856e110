"""The centre's review queue: reviewers approve or return submitted applications."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from connectors.base import CoreError
from engine.app import current_hall, db
from engine.auth import login_required
from engine.fields import TEXTAREA_CONTROLS, has_hidden_characters
from engine.records import STATUS_LABELS
from engine.storage.models import Application, AuditEntry
from engine.submission import valid_number
from engine.views import send_attachment

log = logging.getLogger(__name__)

staff = Blueprint("staff", __name__, url_prefix="/staff")

MAX_COMMENT_LENGTH = 500


def _application(number: str) -> Application:
    if not valid_number(number):
        abort(404)
    found = (
        db().scalars(select(Application).where(Application.number == number)).first()
    )
    if found is None:
        abort(404)
    return found


@staff.get("/reviews")
@login_required("staff")
def queue() -> Any:
    items = current_hall().core.pending_reviews()
    titles = {
        service.submit_operation: service.title
        for service in current_hall().services.values()
        if service.submit_operation
    }
    return render_template("staff_queue.html", items=items, titles=titles)


@staff.get("/reviews/<number>")
@login_required("staff")
def review(number: str) -> Any:
    application = _application(number)
    return render_template(
        "staff_review.html",
        application=application,
        service=current_hall().services.get(application.service_id),
        status_label=STATUS_LABELS.get(application.status, application.status),
    )


@staff.post("/reviews/<number>")
@login_required("staff")
def decide(number: str) -> Any:
    application = _application(number)
    decision = request.form.get("decision")
    comment = request.form.get("comment", "").strip()
    reviewer = session.get("staff_id", "")
    core = current_hall().core
    problem = _comment_problem(decision, comment)
    if problem:
        flash(problem)
        return redirect(url_for("staff.review", number=number))
    try:
        if decision == "approve":
            core.approve(number, reviewer)
        elif decision == "return":
            core.return_application(number, reviewer, comment)
        else:
            abort(400)
    except CoreError as error:
        log.error("decision on %s failed: %s", number, error)
        flash(f"处理失败：{getattr(error, 'message', '核心系统错误')}")
        return redirect(url_for("staff.review", number=number))
    db().add(
        AuditEntry(
            hall="staff",
            actor=reviewer,
            action=decision,
            application_number=application.number,
        )
    )
    db().commit()
    flash(f"申报 {number} 已{'审核通过' if decision == 'approve' else '退回'}")
    return redirect(url_for("staff.queue"))


def _comment_problem(decision: str | None, comment: str) -> str | None:
    if decision == "return" and not comment:
        return "退回时请填写退回原因"
    if len(comment) > MAX_COMMENT_LENGTH:
        return f"审核意见最多{MAX_COMMENT_LENGTH}个字符"
    if has_hidden_characters(comment, TEXTAREA_CONTROLS):
        return "审核意见不能包含控制字符或不可见字符（如零宽空格、文字方向控制符）"
    return None


@staff.get("/reviews/<number>/attachments/<int:attachment_id>")
@login_required("staff")
def attachment(number: str, attachment_id: int) -> Any:
    return send_attachment(_application(number), attachment_id)
