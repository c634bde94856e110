"""The unit's interest statement: each employee's interest of one interest year."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from connectors.base import Caller, Rejected
from connectors.embedded import inputs
from connectors.embedded.context import CoreContext
from connectors.embedded.models import Account, InterestSettlement, Person, Unit
from connectors.embedded.scope import caller_unit

ZERO = Decimal("0.00")


def interest_years(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List the years in which the unit's accounts were settled, newest first."""
    unit = caller_unit(context, caller)
    return [
        {"value": str(year), "label": f"{year - 1}-07-01 至 {year}-06-30"}
        for year in settled_years(context, unit)
    ]


def interest_statement(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Return the settlements of one year for the unit's accounts, with totals.

    `year` is the calendar year of the closing 30 June. An account counts for the
    unit it belongs to now.
    """
    unit = caller_unit(context, caller)
    year = inputs.whole_number(params, "year", "结息年度")
    if not 1900 < year < 3000:
        raise Rejected("结息年度应为四位年份，例如 2026", field="year")
    found = year_settlements(context, unit, year)
    rows = [
        {
            "person_account": account.person_account,
            "name": person.name,
            "settled_on": settlement.settled_on,
            "rate": settlement.rate,
            "balance_before": settlement.balance_before,
            "interest": settlement.interest,
            "balance_after": settlement.balance_after,
        }
        for settlement, account, person in found
    ]
    return {
        "unit_name": unit.name,
        "year": year,
        "employee_count": len(rows),
        "total_before": sum((row["balance_before"] for row in rows), ZERO),
        "total_interest": sum((row["interest"] for row in rows), ZERO),
        "total_after": sum((row["balance_after"] for row in rows), ZERO),
        "employees": rows,
    }


def settled_years(context: CoreContext, unit: Unit) -> list[int]:
    """List the interest years settled for any of the unit's accounts, newest first."""
    return list(
        context.session.scalars(
            select(InterestSettlement.year)
            .join(Account, InterestSettlement.account_id == Account.id)
            .where(Account.unit_id == unit.id)
            .distinct()
            .order_by(InterestSettlement.year.desc())
        )
    )


def year_settlements(
    context: CoreContext, unit: Unit, year: int
) -> list[tuple[InterestSettlement, Account, Person]]:
    """List the settlements of the unit's accounts in one interest year.

    Each row contains the settlement, its account and the account's person, in order of
    personal account number.
    """
    rows = context.session.execute(
        select(InterestSettlement, Account, Person)
        .join(Account, InterestSettlement.account_id == Account.id)
        .join(Person, Account.person_id == Person.id)
        .where(Account.unit_id == unit.id, InterestSettlement.year == year)
        .order_by(Account.person_account)
    ).all()
    return [(settlement, account, person) for settlement, account, person in rows]
