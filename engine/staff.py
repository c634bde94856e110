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
from engine.delivery import (
    DEAD,
    PENDING,
    STAFF_WAITING_LABELS,
    delivery_status,
    undelivered,
    waiting_label,
)
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


def _find_application(number: str | None) -> Application | None:
    if not number:
        return None
    return db().scalars(select(Application).where(Application.number == number)).first()


def _revision_of(application: Application) -> Application | None:
    """Return the submitted correction of a returned application, if there is one.

    A correction still being edited is a draft without a number, so it is left out.
    """
    if application.number is None:
        return None
    query = (
        select(Application)
        .where(
            Application.revises == application.number,
            Application.number.is_not(None),
        )
        .order_by(Application.id.desc())
    )
    return db().scalars(query).first()


# A reviewer decides only an application whose delivery the core has confirmed, or
# one that has no outbox row. While the delivery is pending or dead, the hall cannot
# tell whether the core has received the application. A decision taken then could
# settle a copy the hall still counts as undelivered, and the dead delivery would stay
# listed for requeue. So a dead delivery is requeued first, and a pending one is
# decided after the worker records it as delivered.
UNDECIDABLE_MESSAGES = {
    DEAD: "申报 {number} 转交中心失败，请先在“投递失败的申报”中重新投递，转交成功后再审核",
    PENDING: "申报 {number} 正在转交中心，转交成功后才能审核",
}


@staff.get("/reviews")
@login_required("staff")
def queue() -> Any:
    items = current_hall().core.pending_reviews()
    titles = {
        service.submit_operation: service.title
        for service in current_hall().services.values()
        if service.submit_operation
    }
    undelivered_states = undelivered(db())
    return render_template(
        "staff_queue.html",
        items=items,
        titles=titles,
        delivery_states=undelivered_states,
        dead_total=sum(1 for status in undelivered_states.values() if status == DEAD),
        staff_labels=STAFF_WAITING_LABELS,
        submitted_label=STATUS_LABELS["submitted"],
    )


@staff.get("/reviews/<number>")
@login_required("staff")
def review(number: str) -> Any:
    application = _application(number)
    state = delivery_status(db(), application)
    label = waiting_label(application.status, state, STAFF_WAITING_LABELS)
    return render_template(
        "staff_review.html",
        application=application,
        applicant=current_hall().core.applicant(
            application.unit_account, application.person_account
        ),
        previous=_find_application(application.revises),
        revised_by=_revision_of(application),
        service=current_hall().services.get(application.service_id),
        status_label=label or STATUS_LABELS.get(application.status, application.status),
        delivery_dead=label is not None and state == DEAD,
        decidable=application.status == "submitted" and label is None,
    )


@staff.post("/reviews/<number>")
@login_required("staff")
def decide(number: str) -> Any:
    application = _application(number)
    decision = request.form.get("decision")
    comment = request.form.get("comment", "").strip()
    reviewer = session.get("staff_id", "")
    core = current_hall().core
    state = delivery_status(db(), application)
    if waiting_label(application.status, state) is not None:
        log.warning(
            "decision on %s rejected: its delivery to the core is %s", number, state
        )
        flash(UNDECIDABLE_MESSAGES[state].format(number=number))
        return redirect(url_for("staff.review", number=number))
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
