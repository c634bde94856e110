"""The review queue: applications held until a reviewer of the centre decides."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from connectors.base import Caller, NotFound, Rejected
from connectors.embedded.context import CoreContext
from connectors.embedded.models import Account, Person, ReviewItem, Unit
from engine import clock

log = logging.getLogger(__name__)

PENDING = "pending"
APPROVED = "approved"
RETURNED = "returned"
ITEM_NOT_FOUND = "未找到该申报"


def plain(value: Any) -> Any:
    """Convert a payload to JSON types: amounts become strings, dates ISO strings."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def find(context: CoreContext, application_number: str) -> ReviewItem | None:
    return context.session.scalars(
        select(ReviewItem).where(ReviewItem.application_number == application_number)
    ).first()


def already_submitted(
    context: CoreContext, caller: Caller, operation: str, application_number: str
) -> dict[str, Any] | None:
    """Return the first call's result if this application was queued before.

    The hall retries a delivery until the core confirms, so a repeated number from the
    same caller is the same application. The same number from anyone else is rejected.
    """
    item = find(context, application_number)
    if item is None:
        return None
    same = (
        item.operation == operation
        and item.caller_hall == caller.hall
        and item.unit_account == caller.unit_account
        and item.person_account == caller.person_account
    )
    if not same:
        raise Rejected(f"申报编号 {application_number} 已被其他申报使用")
    return {"status": PENDING}


def reject_open_for_contract(
    context: CoreContext,
    caller: Caller,
    operation: str,
    contract_number: str,
    title: str,
) -> None:
    """Reject a new application for a loan contract with one of `operation` pending.

    Only the caller's own pending applications count. `title` names the kind of
    application in the message.
    """
    items = context.session.scalars(
        select(ReviewItem).where(
            ReviewItem.operation == operation,
            ReviewItem.person_account == caller.person_account,
            ReviewItem.status == PENDING,
        )
    )
    for item in items:
        if item.payload.get("contract") == contract_number:
            raise Rejected(
                f"该合同已有一笔待审核的{title}申请（申报编号 "
                f"{item.application_number}），审核办结前不能再次申请"
            )


def submit(
    context: CoreContext,
    caller: Caller,
    operation: str,
    application_number: str,
    payload: Mapping[str, Any],
) -> dict[str, Any]:
    """Queue an application for review and return the result the hall stores."""
    context.session.add(
        ReviewItem(
            application_number=application_number,
            operation=operation,
            caller_hall=caller.hall,
            unit_account=caller.unit_account,
            person_account=caller.person_account,
            payload=plain(payload),
            status=PENDING,
            # Stored as naive UTC, like every timestamp the pages read.
            created_at=clock.now().replace(tzinfo=None),
        )
    )
    log.info("queued %s application %s for review", operation, application_number)
    return {"status": PENDING}


def pending_items(context: CoreContext) -> list[dict[str, Any]]:
    """List the undecided applications, oldest first."""
    items = context.session.scalars(
        select(ReviewItem)
        .where(ReviewItem.status == PENDING)
        .order_by(ReviewItem.created_at, ReviewItem.id)
    )
    return [describe(item) for item in items]


def pending_item(context: CoreContext, application_number: str) -> ReviewItem:
    """Return an undecided item.

    A decided one raises Rejected, so that no application is decided twice.
    """
    item = find(context, application_number)
    if item is None:
        raise NotFound(ITEM_NOT_FOUND)
    if item.status != PENDING:
        raise Rejected(f"申报 {application_number} 已处理，不能重复审核")
    return item


def describe(item: ReviewItem) -> dict[str, Any]:
    return {
        "application_number": item.application_number,
        "operation": item.operation,
        "hall": item.caller_hall,
        "unit_account": item.unit_account,
        "person_account": item.person_account,
        "payload": item.payload,
        "status": item.status,
        "comment": item.comment,
        "reviewer": item.reviewer,
        "created_at": item.created_at,
        "decided_at": item.decided_at,
    }


def applicant(
    context: CoreContext, unit_account: str | None, person_account: str | None
) -> dict[str, str]:
    """Return the names of the unit and the depositor an application comes from.

    A name is empty when its account is empty or the core has no such account.
    """
    unit_name = ""
    if unit_account:
        unit_name = context.session.scalar(
            select(Unit.name).where(Unit.unit_account == unit_account)
        )
    person_name = ""
    if person_account:
        person_name = context.session.scalar(
            select(Person.name)
            .join(Account, Account.person_id == Person.id)
            .where(Account.person_account == person_account)
        )
    return {"unit_name": unit_name or "", "person_name": person_name or ""}


def record(item: ReviewItem, status: str, staff_id: str, comment: str | None) -> None:
    item.status = status
    item.reviewer = staff_id
    item.comment = comment
    item.decided_at = clock.now().replace(tzinfo=None)
