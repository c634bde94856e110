"""The unit's deposit record: months paid, amounts and arrears over a month range."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from connectors.base import Caller
from connectors.embedded import finance, inputs, ledger
from connectors.embedded.codes import REMITTANCE
from connectors.embedded.context import CoreContext
from connectors.embedded.direct_debits import debit_day, monthly_total
from connectors.embedded.models import LedgerEntry
from connectors.embedded.scope import caller_unit

ZERO = Decimal("0.00")
PAID = "已缴"
OWED = "欠缴"
NOT_DUE = "未到期"


def deposit_proof(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Return a row per month of the range up to this month, and the totals."""
    unit = caller_unit(context, caller)
    start, end = ledger.month_range(params)
    paid: dict[str, Decimal] = defaultdict(Decimal)
    paid_on: dict[str, dt.date] = {}
    for entry in context.session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.unit_id == unit.id,
            LedgerEntry.entry_type == REMITTANCE,
            LedgerEntry.entry_date >= start,
            LedgerEntry.entry_date < end,
        )
    ):
        month = inputs.month_text(entry.entry_date)
        paid[month] += entry.credit
        paid_on[month] = max(entry.entry_date, paid_on.get(month, entry.entry_date))
    # NOTE: the core keeps no history of bases, so a month without a remittance
    # is owed at today's monthly total.
    owed_amount = monthly_total(context, unit)

    # Months before the unit's first ledger entry were kept by an earlier system.
    first_entry = context.session.scalar(
        select(func.min(LedgerEntry.entry_date)).where(LedgerEntry.unit_id == unit.id)
    )
    records_start = (first_entry or context.today).replace(day=1)
    rows = []
    month = max(start, unit.opened_on.replace(day=1), records_start)
    this_month = context.today.replace(day=1)
    while month < end and month <= this_month:
        text = inputs.month_text(month)
        if text in paid:
            rows.append(_row(text, PAID, paid[text], paid_on[text], ZERO))
        elif month == this_month and context.today < debit_day(unit, month):
            rows.append(_row(text, NOT_DUE, ZERO, None, ZERO))
        else:
            rows.append(_row(text, OWED, ZERO, None, owed_amount))
        month = finance.add_months(month, 1)

    last_paid = context.session.scalar(
        select(func.max(LedgerEntry.entry_date)).where(
            LedgerEntry.unit_id == unit.id, LedgerEntry.entry_type == REMITTANCE
        )
    )
    owed = [row for row in rows if row["status"] == OWED]
    return {
        "unit_account": unit.unit_account,
        "unit_name": unit.name,
        "last_paid_month": inputs.month_text(last_paid) if last_paid else "",
        "months_paid": sum(1 for row in rows if row["status"] == PAID),
        "total_paid": sum((row["paid"] for row in rows), ZERO),
        "months_owed": len(owed),
        "total_arrears": sum((row["arrears"] for row in owed), ZERO),
        "months": rows,
    }


def _row(
    month: str, status: str, amount: Decimal, day: dt.date | None, arrears: Decimal
) -> dict[str, Any]:
    return {
        "month": month,
        "status": status,
        "paid": amount,
        "paid_on": day,
        "arrears": arrears,
    }
