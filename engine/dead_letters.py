"""The reviewers' page of dead deliveries, from which they requeue one or all."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from sqlalchemy import func, select

from engine.app import current_hall, db
from engine.auth import login_required
from engine.delivery import DEAD, dead_deliveries, requeue_dead
from engine.storage.models import Delivery
from engine.submission import valid_number

# Rows the page lists. The requeue-all button also requeues the rows beyond them.
PAGE_SIZE = 500

log = logging.getLogger(__name__)

dead_letters = Blueprint("dead_letters", __name__, url_prefix="/staff/deliveries")


@dead_letters.get("")
@login_required("staff")
def listing() -> Any:
    titles = {
        service_id: service.title
        for service_id, service in current_hall().services.items()
    }
    total = db().scalar(
        select(func.count()).select_from(Delivery).where(Delivery.status == DEAD)
    )
    return render_template(
        "staff_deliveries.html",
        deliveries=dead_deliveries(db(), PAGE_SIZE),
        total=total,
        titles=titles,
    )


@dead_letters.post("/requeue")
@login_required("staff")
def requeue() -> Any:
    reviewer = session.get("staff_id", "")
    if request.form.get("all") == "1":
        keys = None
    else:
        number = request.form.get("number", "")
        if not valid_number(number):
            log.warning("requeue request with an invalid application number")
            flash("申报编号无效，请从列表中选择要重新投递的申报")
            return redirect(url_for("dead_letters.listing"))
        keys = [number]
    requeued = requeue_dead(current_hall().session_factory, reviewer, keys)
    if requeued:
        flash(f"已重新投递 {len(requeued)} 笔申报：{'、'.join(requeued[:20])}")
    else:
        flash("没有需要重新投递的申报，可能已被其他工作人员处理")
    return redirect(url_for("dead_letters.listing"))
