"""Unit applications that need review: opening accounts and changing deposit bases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from stdnum.cn import ric

from connectors.base import Caller, NotFound, Rejected
from connectors.embedded import finance, inputs, review
from connectors.embedded.codes import ACTIVE
from connectors.embedded.context import CoreContext
from connectors.embedded.models import Account, DepositChange, Person, ReviewItem, Unit
from connectors.embedded.persons import person_accounts, reject_open_account
from connectors.embedded.scope import (
    ACCOUNT_NOT_FOUND,
    caller_unit,
    unit_by_account,
)
from connectors.embedded.units import deposit_for

OPEN = "account.open"
BASE_CHANGE = "person.base_change"
PERSON_ACCOUNT_DIGITS = 12


def open_accounts(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Queue new accounts of the caller's unit for review."""
    unit = caller_unit(context, caller)
    number = inputs.text(params, "application_number", "申报编号")
    earlier = review.already_submitted(context, caller, OPEN, number)
    if earlier is not None:
        return earlier
    first_month = inputs.month(params, "first_month", "首次缴存月份")
    seen: set[str] = set()
    rows = []
    for index, raw in enumerate(_rows(params), start=1):
        row = _new_employee(context, unit, first_month, index, raw)
        if row["id_number"] in seen:
            raise Rejected(f"第{index}行：证件号码与前面的行重复", field="id_number")
        seen.add(row["id_number"])
        rows.append(row)
    payload = {"first_month": inputs.month_text(first_month), "employees": rows}
    return review.submit(context, caller, OPEN, number, payload)


def _new_employee(
    context: CoreContext,
    unit: Unit,
    first_month: dt.date,
    index: int,
    raw: Mapping[str, Any],
) -> dict[str, Any]:
    try:
        id_number = inputs.id_number(raw.get("id_number"), context.today)
        name = inputs.text(raw, "name", "姓名")
        mobile = inputs.mobile(raw.get("mobile"))
        base = inputs.amount(raw, "base", "缴存基数")
    except Rejected as error:
        raise Rejected(f"第{index}行：{error.message}", field=error.field) from None
    person = context.session.scalars(
        select(Person).where(Person.id_number == id_number)
    ).first()
    if person is not None:
        try:
            reject_open_account(person_accounts(context, person), "id_number")
        except Rejected as error:
            raise Rejected(f"第{index}行：{error.message}", field=error.field) from None
    _check_base(context, base, first_month, index)
    deposit = _checked_deposit(context, unit, base, raw, index)
    return {
        "id_number": id_number,
        "name": name,
        "mobile": mobile,
        "base": base,
        "unit_deposit": deposit.unit,
        "person_deposit": deposit.person,
    }


def approve_open(context: CoreContext, item: ReviewItem) -> None:
    """Create the people not yet known and an active account for each row."""
    unit = unit_by_account(context, item.unit_account or "")
    payload = item.payload
    next_number = _last_person_account(context) + 1
    for index, row in enumerate(payload["employees"], start=1):
        person = _person_for(context, row)
        try:
            reject_open_account(person_accounts(context, person), "id_number")
        except Rejected as error:
            raise Rejected(f"第{index}行：{error.message}", field=error.field) from None
        account = Account(
            person_account=f"{next_number:0{PERSON_ACCOUNT_DIGITS}d}",
            person_id=person.id,
            unit_id=unit.id,
            status=ACTIVE,
            base=Decimal(row["base"]),
            opened_on=context.today,
            last_paid_month=None,
            balance=Decimal("0.00"),
            closed_on=None,
        )
        next_number += 1
        context.session.add(account)
        context.session.flush()
        context.session.add(
            DepositChange(
                unit_id=unit.id,
                account_id=account.id,
                change_type="new",
                effective_month=payload["first_month"],
                old_value="",
                new_value=row["base"],
                recorded_on=context.today,
                application_number=item.application_number,
            )
        )


def change_bases(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Queue new deposit bases of the caller's employees for review.

    The unit's active accounts are read in one query, so a change of every base of a
    unit of tens of thousands of employees costs no query per row.
    """
    unit = caller_unit(context, caller)
    number = inputs.text(params, "application_number", "申报编号")
    earlier = review.already_submitted(context, caller, BASE_CHANGE, number)
    if earlier is not None:
        return earlier
    effective = inputs.month(params, "effective_month", "生效月份")
    limits = _base_limits(context, effective)
    bases = _active_bases(context, unit)
    seen: set[str] = set()
    rows = []
    for index, raw in enumerate(_rows(params), start=1):
        person_account = inputs.text(raw, "person_account", "个人账号")
        if person_account not in bases:
            raise NotFound(
                f"{ACCOUNT_NOT_FOUND}：{person_account}", field="person_account"
            )
        if person_account in seen:
            raise Rejected(
                f"第{index}行：个人账号与前面的行重复", field="person_account"
            )
        seen.add(person_account)
        try:
            base = inputs.amount(raw, "base", "缴存基数")
        except Rejected as error:
            raise Rejected(f"第{index}行：{error.message}", field=error.field) from None
        _check_within(base, limits, index)
        deposit = _checked_deposit(context, unit, base, raw, index)
        rows.append(
            {
                "person_account": person_account,
                "old_base": bases[person_account][1],
                "base": base,
                "unit_deposit": deposit.unit,
                "person_deposit": deposit.person,
            }
        )
    payload = {"effective_month": inputs.month_text(effective), "employees": rows}
    return review.submit(context, caller, BASE_CHANGE, number, payload)


def approve_base_change(context: CoreContext, item: ReviewItem) -> None:
    """Set the new bases and record one base change per account.

    One query reads the unit's accounts, then one executemany inserts the base
    changes and one updates the bases, inside the approval's transaction.
    """
    unit = unit_by_account(context, item.unit_account or "")
    payload = item.payload
    bases = _active_bases(context, unit)
    changes = []
    updates = []
    for row in payload["employees"]:
        found = bases.get(row["person_account"])
        if found is None:
            raise NotFound(f"{ACCOUNT_NOT_FOUND}：{row['person_account']}")
        account_id, old_base = found
        changes.append(
            {
                "unit_id": unit.id,
                "account_id": account_id,
                "change_type": "base",
                "effective_month": payload["effective_month"],
                "old_value": str(old_base),
                "new_value": row["base"],
                "recorded_on": context.today,
                "application_number": item.application_number,
            }
        )
        updates.append({"id": account_id, "base": Decimal(row["base"])})
    if changes:
        context.session.execute(insert(DepositChange), changes)
        context.session.execute(update(Account), updates)


def _active_bases(context: CoreContext, unit: Unit) -> dict[str, tuple[int, Decimal]]:
    """Return the id and base of each active account of `unit`, by account number."""
    found = context.session.execute(
        select(Account.person_account, Account.id, Account.base).where(
            Account.unit_id == unit.id, Account.status == ACTIVE
        )
    )
    return {person_account: (id_, base) for person_account, id_, base in found}


APPROVALS: dict[str, Callable[[CoreContext, ReviewItem], None]] = {
    OPEN: approve_open,
    BASE_CHANGE: approve_base_change,
}


def _rows(params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rows = params.get("employees")
    if not isinstance(rows, list) or not rows:
        raise Rejected("请至少录入一名职工", field="employees")
    if not all(isinstance(row, Mapping) for row in rows):
        raise Rejected("职工明细格式不正确", field="employees")
    return rows


def _check_base(
    context: CoreContext, base: Decimal, month: dt.date, index: int
) -> None:
    _check_within(base, _base_limits(context, month), index)


def _base_limits(context: CoreContext, month: dt.date) -> tuple[Decimal, Decimal]:
    try:
        return finance.base_limits(context.policy, month)
    except LookupError:
        raise Rejected(
            f"{inputs.month_text(month)} 没有缴存基数上下限的政策数据，请改选月份",
            field="base",
        ) from None


def _check_within(base: Decimal, limits: tuple[Decimal, Decimal], index: int) -> None:
    floor, cap = limits
    if not floor <= base <= cap:
        raise Rejected(
            f"第{index}行：缴存基数应在 {floor:,.2f} 至 {cap:,.2f} 元之间", field="base"
        )


def _checked_deposit(
    context: CoreContext, unit: Unit, base: Decimal, raw: Mapping[str, Any], index: int
) -> finance.MonthlyDeposit:
    """Compute the row's deposit; a figure the form sent must agree with it."""
    deposit = deposit_for(context, unit, base)
    for name, label, expected in (
        ("unit_deposit", "单位月缴存额", deposit.unit),
        ("person_deposit", "个人月缴存额", deposit.person),
    ):
        sent = raw.get(name)
        if sent is None or sent == "":
            continue
        if inputs.amount(raw, name, label) != expected:
            raise Rejected(f"第{index}行：{label}应为 {expected:,.2f} 元", field=name)
    return deposit


def _person_for(context: CoreContext, row: Mapping[str, Any]) -> Person:
    id_number = row["id_number"]
    person = context.session.scalars(
        select(Person).where(Person.id_number == id_number)
    ).first()
    if person is not None:
        return person
    sex = "1" if int(id_number[16]) % 2 else "2"
    person = Person(
        id_number=id_number,
        name=row["name"],
        sex=sex,
        birth_date=ric.get_birth_date(id_number),
        mobile=row["mobile"],
        address="",
        bank_card="",
        retirement_group=finance.retirement_group(sex),
    )
    context.session.add(person)
    context.session.flush()
    return person


def _last_person_account(context: CoreContext) -> int:
    last = context.session.scalar(select(func.max(Account.person_account)))
    return int(last) if last else 0
