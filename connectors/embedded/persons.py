"""Person queries: login resolution, ID number lookup and the depositor's account."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from stdnum.cn import ric

from connectors.base import Caller, NotFound, Rejected
from connectors.embedded import finance, inputs, ledger
from connectors.embedded.codes import ACCOUNT_STATUS, ACTIVE, FROZEN, SEX
from connectors.embedded.context import CoreContext
from connectors.embedded.masks import mask_account, mask_id_number
from connectors.embedded.models import Account, Person, Unit
from connectors.embedded.scope import caller_account, caller_unit
from connectors.embedded.units import deposit_for

LOGIN_NOT_FOUND = "未找到该证件号码或个人账号"
# Preferred first when a person has several accounts.
STATUS_ORDER = {ACTIVE: 0, FROZEN: 1, "02": 2}


def resolve(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Find the account a login ID (ID number or personal account number) names."""
    login_id = str(params.get("login_id") or "").strip().upper()
    query = select(Account, Person).join(Person, Account.person_id == Person.id)
    if len(login_id) == 18:
        query = query.where(Person.id_number == login_id)
    elif login_id.isdigit():
        query = query.where(Account.person_account == login_id)
    else:
        raise NotFound(LOGIN_NOT_FOUND, field="login_id")
    rows = context.session.execute(query).all()
    if not rows:
        raise NotFound(LOGIN_NOT_FOUND, field="login_id")
    account, person = min(rows, key=lambda row: _preference(row[0]))
    return {
        "person_account": account.person_account,
        "name": person.name,
        "mobile": person.mobile,
    }


def lookup(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Back-fill an employee row of a new-account form from the ID number."""
    unit = caller_unit(context, caller)
    id_number = inputs.id_number(params.get("id_number"), context.today)
    person = context.session.scalars(
        select(Person).where(Person.id_number == id_number)
    ).first()
    result = {
        "id_number": id_number,
        "name": person.name if person else "",
        "sex": SEX["1" if int(id_number[16]) % 2 else "2"],
        "birth_date": ric.get_birth_date(id_number),
        "existing_account": "",
        "existing_status": "无",
    }
    if person is None:
        return result
    accounts = person_accounts(context, person)
    reject_open_account(accounts, "id_number")
    if accounts:
        account, account_unit = accounts[0]
        own = account_unit.id == unit.id
        where = "本单位" if own else "其他单位"
        visible = (
            account.person_account if own else mask_account(account.person_account)
        )
        result["existing_account"] = visible
        result["existing_status"] = f"{ACCOUNT_STATUS[account.status]}（{where}）"
    return result


def person_accounts(context: CoreContext, person: Person) -> list[tuple[Account, Unit]]:
    """Return the person's accounts with their units, the most relevant first."""
    rows = context.session.execute(
        select(Account, Unit)
        .join(Unit, Account.unit_id == Unit.id)
        .where(Account.person_id == person.id)
    ).all()
    return sorted(
        ((account, unit) for account, unit in rows),
        key=lambda pair: (_preference(pair[0]), pair[0].person_account),
    )


def reject_open_account(accounts: list[tuple[Account, Unit]], field: str) -> None:
    """Raise Rejected if any account still takes deposits, so none is opened twice."""
    for account, _unit in accounts:
        if account.status == ACTIVE:
            raise Rejected(
                "该证件号码已有正常状态的个人账户，不能重复开户", field=field
            )
        if account.status == FROZEN:
            raise Rejected(
                "该证件号码已有冻结状态的个人账户，不能重复开户", field=field
            )


def account(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Return the depositor's account card."""
    own, person = caller_account(context, caller)
    unit = context.session.get_one(Unit, own.unit_id)
    deposit = _current_deposit(context, unit, own)
    return {
        "person_account": own.person_account,
        "name": person.name,
        "id_number_masked": mask_id_number(person.id_number),
        "unit_name": unit.name,
        "unit_account": unit.unit_account,
        "base": own.base,
        "unit_ratio": unit.unit_ratio,
        "person_ratio": unit.person_ratio,
        "unit_deposit": deposit.unit,
        "person_deposit": deposit.person,
        "monthly_deposit": deposit.total,
        "balance": own.balance,
        "status": own.status,
        "status_label": ACCOUNT_STATUS[own.status],
        "last_paid_month": own.last_paid_month,
        "opened_on": own.opened_on,
    }


def person_ledger(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List the depositor's own ledger for a month range."""
    own, _person = caller_account(context, caller)
    return ledger.entries(context, params, account_id=own.id)


def profile(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Return the depositor's personal details used by calculations and forms."""
    own, person = caller_account(context, caller)
    unit = context.session.get_one(Unit, own.unit_id)
    deposit = _current_deposit(context, unit, own)
    return {
        "name": person.name,
        "age": finance.age_on(person.birth_date, context.today),
        "sex": SEX[person.sex],
        "birth_date": person.birth_date,
        "balance": own.balance,
        "monthly_deposit": deposit.total,
    }


def _current_deposit(
    context: CoreContext, unit: Unit, own: Account
) -> finance.MonthlyDeposit:
    """Compute this month's deposit; sealed and closed accounts take none."""
    if own.status not in (ACTIVE, FROZEN):
        return finance.MonthlyDeposit(Decimal("0.00"), Decimal("0.00"))
    return deposit_for(context, unit, own.base)


def _preference(account: Account) -> int:
    return STATUS_ORDER.get(account.status, 9)
