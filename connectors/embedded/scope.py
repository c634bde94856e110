"""Find the records a caller may see; anything else is reported as not found."""

from __future__ import annotations

from sqlalchemy import select

from connectors.base import Caller, NotFound, Rejected
from connectors.embedded.codes import ACTIVE
from connectors.embedded.context import CoreContext
from connectors.embedded.models import Account, Person, Unit

UNIT_NOT_FOUND = "未找到该单位账号"
ACCOUNT_NOT_FOUND = "未找到该个人账号"


def unit_by_account(context: CoreContext, unit_account: str) -> Unit:
    """Return the unit with this account number or raise NotFound."""
    unit = context.session.scalars(
        select(Unit).where(Unit.unit_account == unit_account)
    ).first()
    if unit is None:
        raise NotFound(UNIT_NOT_FOUND, field="unit_account")
    return unit


def caller_unit(context: CoreContext, caller: Caller) -> Unit:
    """Return the unit a unit handler acts for."""
    if caller.hall != "unit" or not caller.unit_account:
        raise Rejected("请先登录单位网厅")
    return unit_by_account(context, caller.unit_account)


def caller_account(context: CoreContext, caller: Caller) -> tuple[Account, Person]:
    """Return the account a depositor is logged in with, and its person."""
    if caller.hall != "person" or not caller.person_account:
        raise Rejected("请先登录个人网厅")
    row = context.session.execute(
        select(Account, Person)
        .join(Person, Account.person_id == Person.id)
        .where(Account.person_account == caller.person_account)
    ).first()
    if row is None:
        raise NotFound(ACCOUNT_NOT_FOUND)
    return row[0], row[1]


def active_account_in_unit(
    context: CoreContext, unit: Unit, person_account: str, field: str | None = None
) -> Account:
    """Return an active account of `unit`; other units' accounts look nonexistent."""
    account = context.session.scalars(
        select(Account).where(
            Account.person_account == person_account,
            Account.unit_id == unit.id,
            Account.status == ACTIVE,
        )
    ).first()
    if account is None:
        raise NotFound(f"{ACCOUNT_NOT_FOUND}：{person_account}", field=field)
    return account
