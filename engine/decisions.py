"""Decisions of the core's reviewers, stored on the hall's applications once.

Both ways a decision reaches the hall use `apply_decision`: the core's signed callback
(`engine.core_callbacks`) and the delivery worker's polling (`engine.delivery`).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connectors.base import Caller
from engine.delivery import DEAD, DELIVERED, PENDING
from engine.storage.models import Application, AuditEntry, Delivery, utcnow
from engine.submission import owned_by

log = logging.getLogger(__name__)

DECISIONS = ("approved", "returned")

# Outcomes of one decision.
APPLIED = "applied"
UNCHANGED = "unchanged"
NOT_FOUND = "not_found"
CONFLICT = "conflict"


def apply_decision(
    session: Session,
    number: str,
    caller: Caller,
    status: str,
    comment: str | None,
    via: str = "callback",
) -> str:
    """Store a decision on the caller's application once; return the outcome.

    The conditional update changes only a submitted application, so when the same
    decision arrives twice, one copy applies it and the other finds it unchanged.
    """
    query = select(Application).where(
        Application.number == number, Application.status != "draft"
    )
    application = session.scalars(owned_by(query, caller)).first()
    if application is None:
        log.warning("decision (%s) for an unknown application %s", via, number)
        return NOT_FOUND
    now = utcnow()
    changed = session.execute(
        update(Application)
        .where(Application.id == application.id, Application.status == "submitted")
        .values(status=status, comment=comment, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        session.rollback()
        current = session.get(Application, application.id)
        assert current is not None
        if current.status == status and (current.comment or None) == comment:
            log.info("decision %s on %s was already stored", status, number)
            return UNCHANGED
        log.warning(
            "decision %s on %s ignored: the application is %s",
            status,
            number,
            current.status,
        )
        return CONFLICT
    _settle_delivery(session, application, now)
    session.add(
        AuditEntry(
            hall="staff",
            actor="core",
            action=status,
            application_number=number,
            detail={"via": via},
        )
    )
    session.commit()
    log.info("application %s %s by the core", number, status)
    return APPLIED


def _settle_delivery(
    session: Session, application: Application, now: dt.datetime
) -> None:
    """Mark the delivery done: a core that decided has the application.

    This covers a delivery whose response was lost, which is still pending or dead.
    """
    settled = session.execute(
        update(Delivery)
        .where(
            Delivery.application_id == application.id,
            Delivery.status.in_((PENDING, DEAD)),
        )
        .values(
            status=DELIVERED,
            finished_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if settled.rowcount:
        log.info("delivery of %s settled by the core's decision", application.number)
    if application.delivered_at is None:
        session.execute(
            update(Application)
            .where(Application.id == application.id)
            .values(delivered_at=now, delivery_error=None)
            .execution_options(synchronize_session=False)
        )
