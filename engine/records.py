"""The hall's own records as connector operations, so query specs can list applications."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connectors.base import Caller, UnknownOperation
from engine.delivery import waiting_label
from engine.storage.models import Application, Delivery
from renderers.html import LOCAL_ZONE

STATUS_LABELS = {
    "draft": "草稿",
    "submitted": "待审核",
    "approved": "审核通过",
    "returned": "退回",
    "completed": "已办结",
}


class ApplicationRecords:
    """Answers `applications.list` from the hall's application table."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        self.titles: dict[str, str] = {}

    def operations(self) -> set[str]:
        return {"applications.list"}

    def call(self, operation: str, caller: Caller, params: Mapping[str, Any]) -> Any:
        if operation != "applications.list":
            raise UnknownOperation(operation)
        return self.list_applications(caller, params)

    def list_applications(
        self, caller: Caller, params: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        query = (
            select(Application, Delivery.status)
            .outerjoin(Delivery, Delivery.application_id == Application.id)
            .where(Application.status != "draft")
        )
        # Only the caller's own applications: a unit's or a depositor's, never both.
        if caller.hall == "unit" and caller.unit_account:
            query = query.where(
                Application.hall == "unit",
                Application.unit_account == caller.unit_account,
            )
        elif caller.hall == "person" and caller.person_account:
            query = query.where(
                Application.hall == "person",
                Application.person_account == caller.person_account,
            )
        else:
            return []
        period = params.get("period") or {}
        if period.get("from"):
            query = query.where(Application.submitted_at >= _utc_start(period["from"]))
        if period.get("to"):
            next_day = period["to"] + dt.timedelta(days=1)
            query = query.where(Application.submitted_at < _utc_start(next_day))
        if params.get("status"):
            query = query.where(Application.status == params["status"])
        query = query.order_by(Application.submitted_at.desc())
        with self.session_factory() as session:
            rows = session.execute(query.limit(1000)).all()
            return [
                {
                    "number": row.number,
                    "service": self.titles.get(row.service_id, row.service_id),
                    "submitted_at": row.submitted_at,
                    "status": waiting_label(row.status, delivery_status)
                    or STATUS_LABELS.get(row.status, row.status),
                    "comment": row.comment or "",
                }
                for row, delivery_status in rows
            ]


def _utc_start(day: dt.date) -> dt.datetime:
    """Return the UTC time, without a zone, at which `day` begins in Beijing.

    People pick dates in the time the pages show, but submitted_at is stored in UTC.
    """
    local = dt.datetime.combine(day, dt.time.min, tzinfo=LOCAL_ZONE)
    return local.astimezone(dt.UTC).replace(tzinfo=None)
