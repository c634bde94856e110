"""The depositor's deposit history: months paid and amounts, year by year."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from connectors.base import Caller
from connectors.embedded.codes import (
    ACCOUNT_STATUS,
    BACK_PAYMENT,
    INTEREST,
    REMITTANCE,
)
from connectors.embedded.context import CoreContext
from connectors.embedded.masks import mask_id_number
from connectors.embedded.models import LedgerEntry, Unit
from connectors.embedded.scope import caller_account

ZERO = Decimal("0.00")
DEPOSIT_TYPES = (REMITTANCE, BACK_PAYMENT)


def deposit_proof(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Summarise the caller's deposits: a card with totals and one row per year."""
    account, person = caller_account(context, caller)
    unit = context.session.get_one(Unit, account.unit_id)
    entries = context.session.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.account_id == account.id,
            LedgerEntry.entry_type.in_((*DEPOSIT_TYPES, INTEREST)),
        )
        .order_by(LedgerEntry.entry_date, LedgerEntry.sequence, LedgerEntry.id)
    ).all()
    years: dict[int, dict[str, Any]] = {}
    months: set[str] = set()
    for entry in entries:
        year = years.setdefault(
            entry.entry_date.year,
            {"year": entry.entry_date.year, "months": 0, "deposits": ZERO},
        )
        year.setdefault("interest", ZERO)
        if entry.entry_type == INTEREST:
            year["interest"] += entry.credit - entry.debit
            continue
        year["deposits"] += entry.credit - entry.debit
        month = f"{entry.entry_date:%Y-%m}"
        if entry.entry_type == REMITTANCE and month not in months:
            months.add(month)
            year["months"] += 1
    rows = [years[key] for key in sorted(years, reverse=True)]
    return {
        "person_account": account.person_account,
        "name": person.name,
        "id_number_masked": mask_id_number(person.id_number),
        "unit_name": unit.name,
        "opened_on": account.opened_on,
        "status_label": ACCOUNT_STATUS[account.status],
        "base": account.base,
        "last_paid_month": account.last_paid_month,
        "paid_months": len(months),
        "consecutive_months": consecutive_months(sorted(months)),
        "total_deposits": sum((row["deposits"] for row in rows), ZERO),
        "balance": account.balance,
        "years": rows,
    }


def consecutive_months(months: list[str]) -> int:
    """Count the months without a gap that end with the latest month paid."""
    if not months:
        return 0
    count = 1
    for later, earlier in zip(reversed(months), reversed(months[:-1])):
        if _index(later) - _index(earlier) != 1:
            break
        count += 1
    return count


def _index(month: str) -> int:
    year, number = month.split("-")
    return int(year) * 12 + int(number) - 1
