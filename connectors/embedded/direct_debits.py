"""The direct-debit query: the centre's monthly collection from the unit's bank."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from connectors.base import Caller
from connectors.embedded import finance, inputs, ledger
from connectors.embedded.codes import ACTIVE, FROZEN, REMITTANCE
from connectors.embedded.context import CoreContext
from connectors.embedded.masks import mask_account
from connectors.embedded.models import Account, LedgerEntry, Unit
from connectors.embedded.scope import caller_unit
from connectors.embedded.units import deposit_for

DEBITED = "扣款成功"
SCHEDULED = "待扣款"


def direct_debits(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List one row per month: the regular remittance debited, or the one still due.

    Each regular remittance booked in the unit ledger was collected by direct debit
    on that day. The current month, when not yet collected, shows the amount the
    unit's depositing accounts owe at today's bases and ratios.
    """
    unit = caller_unit(context, caller)
    start, end = ledger.month_range(params)
    entries = context.session.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.unit_id == unit.id,
            LedgerEntry.entry_type == REMITTANCE,
            LedgerEntry.entry_date >= start,
            LedgerEntry.entry_date < end,
        )
        .order_by(LedgerEntry.entry_date, LedgerEntry.id)
    )
    rows = [
        _debit_row(unit, entry.entry_date, entry.credit, DEBITED) for entry in entries
    ]
    this_month = context.today.replace(day=1)
    collected = {row["month"] for row in rows}
    if start <= this_month < end and inputs.month_text(this_month) not in collected:
        due_day = debit_day(unit, this_month)
        rows.append(_debit_row(unit, due_day, monthly_total(context, unit), SCHEDULED))
    return rows


def monthly_total(context: CoreContext, unit: Unit) -> Decimal:
    """Sum this month's deposits of the unit's depositing accounts."""
    bases = context.session.scalars(
        select(Account.base).where(
            Account.unit_id == unit.id, Account.status.in_((ACTIVE, FROZEN))
        )
    )
    return sum(
        (deposit_for(context, unit, base).total for base in bases), Decimal("0.00")
    )


def debit_day(unit: Unit, month: dt.date) -> dt.date:
    last = finance.add_months(month, 1) - dt.timedelta(days=1)
    return month.replace(day=min(unit.debit_day, last.day))


def _debit_row(
    unit: Unit, day: dt.date, amount: Decimal, status: str
) -> dict[str, Any]:
    return {
        "month": inputs.month_text(day),
        "amount": amount,
        "bank": unit.bank,
        "bank_account": mask_account(unit.bank_account),
        "status": status,
        "date": day,
    }
