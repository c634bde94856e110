"""The deposit-change query: employees joining, leaving, sealed, bases and ratios."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from connectors.base import Caller, Rejected
from connectors.embedded import inputs
from connectors.embedded.codes import CHANGE_TYPES
from connectors.embedded.context import CoreContext
from connectors.embedded.masks import mask_id_number
from connectors.embedded.models import Account, DepositChange, Person
from connectors.embedded.scope import caller_unit
from engine.money import format_yuan, to_decimal

# A change without an account (a new ratio) concerns every employee of the unit.
WHOLE_UNIT = "全体职工"
# Changes of these types record a deposit base in yuan as a plain decimal string.
# The table shows it with thousands separators, as the hall shows every amount.
AMOUNT_CHANGE_TYPES = {"base", "new"}


def change_types(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List the deposit-change types as choices for a form."""
    return [{"value": code, "label": label} for code, label in CHANGE_TYPES.items()]


def deposit_changes(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List the caller's unit's deposit changes effective within a month range."""
    unit = caller_unit(context, caller)
    first = inputs.month_text(inputs.month(params, "from_month", "起始月份"))
    last = inputs.month_text(inputs.month(params, "to_month", "截止月份"))
    query = (
        select(DepositChange, Account, Person)
        .outerjoin(Account, DepositChange.account_id == Account.id)
        .outerjoin(Person, Account.person_id == Person.id)
        .where(
            DepositChange.unit_id == unit.id,
            DepositChange.effective_month >= first,
            DepositChange.effective_month <= last,
        )
    )
    change_type = str(params.get("change_type") or "")
    if change_type:
        if change_type not in CHANGE_TYPES:
            raise Rejected(f"未知的变更类型：{change_type}", field="change_type")
        query = query.where(DepositChange.change_type == change_type)
    query = query.order_by(DepositChange.effective_month, DepositChange.id)
    return [_row(*found) for found in context.session.execute(query)]


def _row(
    change: DepositChange, account: Account | None, person: Person | None
) -> dict[str, Any]:
    return {
        "effective_month": change.effective_month,
        "change_type": change.change_type,
        "change_type_label": CHANGE_TYPES.get(change.change_type, change.change_type),
        "person_account": account.person_account if account else "",
        "name": person.name if person else WHOLE_UNIT,
        "id_number_masked": mask_id_number(person.id_number) if person else "",
        "old_value": _shown_value(change.change_type, change.old_value),
        "new_value": _shown_value(change.change_type, change.new_value),
        "recorded_on": change.recorded_on,
        "application_number": change.application_number or "",
    }


def _shown_value(change_type: str, value: str) -> str:
    """Format the amount of a base or new-employee change, and keep other text."""
    if change_type not in AMOUNT_CHANGE_TYPES or not value:
        return value
    try:
        return format_yuan(to_decimal(value))
    except ValueError:
        return value
