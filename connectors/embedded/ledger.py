"""Ledger queries shared by the unit and person halls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, select

from connectors.base import Caller, Rejected
from connectors.embedded import inputs
from connectors.embedded.codes import LEDGER_TYPES
from connectors.embedded.context import CoreContext
from connectors.embedded.finance import add_months
from connectors.embedded.models import LedgerEntry


def entry_types(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List the ledger entry types as choices for a form."""
    return [{"value": code, "label": label} for code, label in LEDGER_TYPES.items()]


def month_range(params: Mapping[str, Any]) -> tuple[dt.date, dt.date]:
    """Read from_month and to_month as [first day, first day after the last month)."""
    start = inputs.month(params, "from_month", "起始月份")
    end = inputs.month(params, "to_month", "截止月份")
    if end < start:
        raise Rejected("截止月份不能早于起始月份", field="to_month")
    return start, add_months(end, 1)


def entries(
    context: CoreContext,
    params: Mapping[str, Any],
    *,
    unit_id: int | None = None,
    account_id: int | None = None,
) -> list[dict[str, Any]]:
    """Return the entries of one unit or one account in date order.

    The columns are selected as plain rows, which skips building ORM objects that
    a read-only list never changes.
    """
    start, end = month_range(params)
    query = select(*ENTRY_COLUMNS).where(
        LedgerEntry.entry_date >= start, LedgerEntry.entry_date < end
    )
    if unit_id is not None:
        query = query.where(LedgerEntry.unit_id == unit_id)
    else:
        query = query.where(LedgerEntry.account_id == account_id)
    entry_type = params.get("entry_type")
    if entry_type:
        if entry_type not in LEDGER_TYPES:
            raise Rejected(f"未知的业务类型：{entry_type}", field="entry_type")
        query = query.where(LedgerEntry.entry_type == entry_type)
    query = query.order_by(LedgerEntry.entry_date, LedgerEntry.sequence, LedgerEntry.id)
    return [_row(entry) for entry in context.session.execute(query)]


ENTRY_COLUMNS = (
    LedgerEntry.entry_date,
    LedgerEntry.entry_type,
    LedgerEntry.summary,
    LedgerEntry.debit,
    LedgerEntry.credit,
    LedgerEntry.balance,
)


def _row(entry: Row[Any]) -> dict[str, Any]:
    return {
        "date": entry.entry_date,
        "type": entry.entry_type,
        "type_label": LEDGER_TYPES.get(entry.entry_type, entry.entry_type),
        "summary": entry.summary,
        "debit": entry.debit,
        "credit": entry.credit,
        "balance": entry.balance,
    }
