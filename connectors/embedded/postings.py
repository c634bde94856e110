"""Book new entries to a unit's or an account's ledger, keeping the running balance."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select

from connectors.embedded.context import CoreContext
from connectors.embedded.models import LedgerEntry

ZERO = Decimal("0.00")


def book(
    context: CoreContext,
    *,
    entry_type: str,
    summary: str,
    amount: Decimal,
    unit_id: int | None = None,
    account_id: int | None = None,
) -> LedgerEntry:
    """Add an entry dated today after every earlier entry of the same ledger.

    A positive `amount` is a credit and a negative one a debit. The balance after
    the entry is the ledger's latest balance plus `amount`.
    """
    owner = (
        LedgerEntry.unit_id == unit_id
        if unit_id is not None
        else LedgerEntry.account_id == account_id
    )
    latest = context.session.scalars(
        select(LedgerEntry)
        .where(owner)
        .order_by(
            LedgerEntry.entry_date.desc(),
            LedgerEntry.sequence.desc(),
            LedgerEntry.id.desc(),
        )
        .limit(1)
    ).first()
    entry = LedgerEntry(
        unit_id=unit_id,
        account_id=account_id,
        entry_date=context.today,
        sequence=_next_sequence(context, owner, context.today),
        entry_type=entry_type,
        summary=summary,
        debit=-amount if amount < 0 else ZERO,
        credit=amount if amount > 0 else ZERO,
        balance=(latest.balance if latest else ZERO) + amount,
    )
    context.session.add(entry)
    context.session.flush()
    return entry


def _next_sequence(
    context: CoreContext, owner: ColumnElement[bool], day: dt.date
) -> int:
    last = context.session.scalar(
        select(func.max(LedgerEntry.sequence)).where(
            owner, LedgerEntry.entry_date == day
        )
    )
    return 0 if last is None else last + 1
