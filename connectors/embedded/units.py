"""Unit hall queries: login details, the unit card, its employees and its ledger."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from connectors.base import Caller, Rejected
from connectors.embedded import finance, inputs, ledger
from connectors.embedded.codes import ACCOUNT_STATUS, ACTIVE, UNIT_STATUS
from connectors.embedded.context import CoreContext
from connectors.embedded.masks import mask_id_number
from connectors.embedded.models import Account, Person, Unit
from connectors.embedded.scope import caller_unit, unit_by_account

# Closed accounts (03, 04, 05) no longer hold the unit's funds.
HOLDING_STATUSES = ("01", "02", "06", "99")


def deposit_for(
    context: CoreContext, unit: Unit, base: Decimal
) -> finance.MonthlyDeposit:
    """Compute the monthly deposit on `base` at the unit's ratios, rounded as today."""
    places = finance.deposit_places(context.policy, context.today)
    return finance.monthly_deposit(base, unit.unit_ratio, unit.person_ratio, places)


def handler_of(context: CoreContext, unit: Unit) -> Person | None:
    """Return the person registered as the unit's handler, if any."""
    if unit.handler_person_account is None:
        return None
    return context.session.scalars(
        select(Person)
        .join(Account, Account.person_id == Person.id)
        .where(Account.person_account == unit.handler_person_account)
    ).first()


def login_info(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Return what the login page needs to send the handler an SMS code."""
    if caller.hall != "unit":
        raise Rejected("单位登录信息只能由单位网厅查询")
    unit = unit_by_account(context, inputs.text(params, "unit_account", "单位账号"))
    handler = handler_of(context, unit)
    return {
        "unit_account": unit.unit_account,
        "name": unit.name,
        "handler_name": handler.name if handler else "",
        "handler_mobile": handler.mobile if handler else "",
        "status": unit.status,
    }


def profile(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Return the unit card of the caller's unit."""
    unit = caller_unit(context, caller)
    handler = handler_of(context, unit)
    session = context.session
    employee_count = session.scalar(
        select(func.count(Account.id)).where(
            Account.unit_id == unit.id, Account.status == ACTIVE
        )
    )
    balances = session.scalars(
        select(Account.balance).where(
            Account.unit_id == unit.id, Account.status.in_(HOLDING_STATUSES)
        )
    )
    return {
        "unit_account": unit.unit_account,
        "name": unit.name,
        "uscc": unit.uscc,
        "address": unit.address,
        "postcode": unit.postcode,
        "legal_rep": unit.legal_rep,
        "phone": unit.phone,
        "handler_name": handler.name if handler else "",
        "handler_mobile": handler.mobile if handler else "",
        "unit_ratio": unit.unit_ratio,
        "person_ratio": unit.person_ratio,
        "status": unit.status,
        "status_label": UNIT_STATUS.get(unit.status, unit.status),
        "bank": unit.bank,
        "bank_account": unit.bank_account,
        "debit_day": unit.debit_day,
        "employee_count": employee_count or 0,
        "balance": sum(balances, Decimal("0.00")),
    }


def employees(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> list:
    """List the unit's active accounts with their monthly deposit.

    Only the columns shown are read, and the rounding rule once, so a unit of tens
    of thousands of employees is listed in one light query.
    """
    unit = caller_unit(context, caller)
    rows = context.session.execute(
        select(
            Account.person_account,
            Account.base,
            Account.status,
            Person.name,
            Person.id_number,
        )
        .join(Person, Account.person_id == Person.id)
        .where(Account.unit_id == unit.id, Account.status == ACTIVE)
        .order_by(Account.person_account)
    )
    places = finance.deposit_places(context.policy, context.today)
    result = []
    for person_account, base, status, name, id_number in rows:
        deposit = finance.monthly_deposit(
            base, unit.unit_ratio, unit.person_ratio, places
        )
        result.append(
            {
                "person_account": person_account,
                "name": name,
                "id_number_masked": mask_id_number(id_number),
                "base": base,
                "unit_deposit": deposit.unit,
                "person_deposit": deposit.person,
                "status_label": ACCOUNT_STATUS[status],
            }
        )
    return result


def unit_ledger(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List the caller's unit ledger for a month range."""
    unit = caller_unit(context, caller)
    return ledger.entries(context, params, unit_id=unit.id)
