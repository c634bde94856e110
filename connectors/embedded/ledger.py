"""Ledger queries shared by the unit and person halls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, bindparam, select

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
    entry_type = params.get("entry_type")
    if entry_type and entry_type not in LEDGER_TYPES:
        raise Rejected(f"未知的业务类型：{entry_type}", field="entry_type")
    owner = "unit" if unit_id is not None else "account"
    values = {
        "owner": unit_id if unit_id is not None else account_id,
        "start": start,
        "end": end,
    }
    if entry_type:
        values["entry_type"] = entry_type
    statement = ENTRY_QUERIES[owner, bool(entry_type)]
    # A Core statement built once skips the ORM layer and SQLAlchemy's per-call
    # statement building, which cost more than the query itself for a year of entries.
    rows = context.session.connection().execute(statement, values)
    return [_row(entry) for entry in rows]


ENTRY_COLUMNS = (
    LedgerEntry.entry_date,
    LedgerEntry.entry_type,
    LedgerEntry.summary,
    LedgerEntry.debit,
    LedgerEntry.credit,
    LedgerEntry.balance,
)


def _entry_query(owner: str, by_type: bool) -> Any:
    owner_column = LedgerEntry.unit_id if owner == "unit" else LedgerEntry.account_id
    query = select(*ENTRY_COLUMNS).where(
        owner_column == bindparam("owner"),
        LedgerEntry.entry_date >= bindparam("start"),
        LedgerEntry.entry_date < bindparam("end"),
    )
    if by_type:
        query = query.where(LedgerEntry.entry_type == bindparam("entry_type"))
    return query.order_by(LedgerEntry.entry_date, LedgerEntry.sequence, LedgerEntry.id)


ENTRY_QUERIES = {
    (owner, by_type): _entry_query(owner, by_type)
    for owner in ("unit", "account")
    for by_type in (False, True)
}


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
