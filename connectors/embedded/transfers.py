"""Seal employees' accounts or transfer them to another unit, and list transfers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from connectors.base import Caller, NotFound, Rejected
from connectors.embedded import employees, inputs, postings, review
from connectors.embedded.codes import (
    ACCOUNT_STATUS,
    ACTIVE,
    SEALED,
    TRANSFER_IN,
    TRANSFER_OUT,
)
from connectors.embedded.context import CoreContext
from connectors.embedded.masks import mask_id_number
from connectors.embedded.models import (
    Account,
    DepositChange,
    Person,
    ReviewItem,
    Transfer,
    Unit,
)
from connectors.embedded.scope import caller_unit, unit_by_account

SEAL_TRANSFER = "person.seal_transfer"
SEAL = "seal"
TRANSFER = "transfer"
ACTIONS = {SEAL: "封存", TRANSFER: "转移"}
# The accounts each action may take: only a depositing account is sealed, and a
# sealed account of a former employee may still move to the new employer.
ALLOWED_STATUSES = {SEAL: (ACTIVE,), TRANSFER: (ACTIVE, SEALED)}
UNIT_NOT_FOUND = "未找到该单位账号，请核对转入单位账号"
HANDLER_LEAVING = "该职工是本单位经办人，请先在单位信息变更中更换经办人"
DONE = "已转移"
WAITING = "待审核"


def find_unit(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Back-fill the target unit's name from its account number."""
    unit = caller_unit(context, caller)
    target = _target_unit(context, unit, params.get("target_unit_account"))
    return {"target_unit_account": target.unit_account, "target_unit_name": target.name}


def leaving_employee(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Back-fill a row of employees to seal or transfer, checking the account status."""
    found = employees.employee(context, caller, params)
    action = str(params.get("action") or "")
    if action in ACTIONS and found["status"] not in ALLOWED_STATUSES[action]:
        raise Rejected(
            f"账户状态为{found['status_label']}，不能办理{ACTIONS[action]}",
            field="id_number",
        )
    _reject_handler(caller_unit(context, caller), found["person_account"])
    return found


def _reject_handler(unit: Unit, person_account: str) -> None:
    # The handler receives the unit's login codes, so the unit must name another
    # handler before this person leaves it.
    if person_account == unit.handler_person_account:
        raise Rejected(HANDLER_LEAVING, field="id_number")


def _target_unit(context: CoreContext, own: Unit, value: Any) -> Unit:
    unit_account = str(value or "").strip()
    if not unit_account:
        raise Rejected("请填写转入单位账号", field="target_unit_account")
    target = context.session.scalars(
        select(Unit).where(Unit.unit_account == unit_account)
    ).first()
    if target is None:
        raise NotFound(UNIT_NOT_FOUND, field="target_unit_account")
    if target.id == own.id:
        raise Rejected("转入单位不能是本单位", field="target_unit_account")
    if target.status != "01":
        raise Rejected(
            f"转入单位 {unit_account} 不是正常状态，不能转入",
            field="target_unit_account",
        )
    return target


def seal_or_transfer(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Queue sealing or transferring some of the caller's employees for review."""
    unit = caller_unit(context, caller)
    number = inputs.text(params, "application_number", "申报编号")
    earlier = review.already_submitted(context, caller, SEAL_TRANSFER, number)
    if earlier is not None:
        return earlier
    action = str(params.get("action") or "")
    if action not in ACTIONS:
        raise Rejected("请选择办理类型：封存或转移", field="action")
    payload: dict[str, Any] = {
        "action": action,
        "effective_month": inputs.month_text(
            inputs.month(params, "effective_month", "生效月份")
        ),
        "reason": inputs.text(params, "reason", "原因"),
    }
    if action == TRANSFER:
        target = _target_unit(context, unit, params.get("target_unit_account"))
        payload["target_unit_account"] = target.unit_account
    payload["employees"] = _employee_rows(context, unit, action, params)
    return review.submit(context, caller, SEAL_TRANSFER, number, payload)


def _employee_rows(
    context: CoreContext, unit: Unit, action: str, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    rows = params.get("employees")
    if not isinstance(rows, list) or not rows:
        raise Rejected("请至少录入一名职工", field="employees")
    seen: set[str] = set()
    result = []
    for index, raw in enumerate(rows, start=1):
        if not isinstance(raw, Mapping):
            raise Rejected("职工明细格式不正确", field="employees")
        try:
            id_number = inputs.id_number(raw.get("id_number"), context.today)
            account, person = employees.employee_of_unit(context, unit, id_number)
            _check_status(account, action)
            _reject_handler(unit, account.person_account)
        except Rejected as error:
            raise Rejected(f"第{index}行：{error.message}", field=error.field) from None
        if id_number in seen:
            raise Rejected(f"第{index}行：证件号码与前面的行重复", field="id_number")
        seen.add(id_number)
        result.append(
            {
                "id_number": id_number,
                "name": person.name,
                "person_account": account.person_account,
                "balance": account.balance,
            }
        )
    return result


def _check_status(account: Account, action: str) -> None:
    if account.status not in ALLOWED_STATUSES[action]:
        status = ACCOUNT_STATUS.get(account.status, account.status)
        raise Rejected(
            f"账户状态为{status}，不能办理{ACTIONS[action]}", field="id_number"
        )


def approve_seal_transfer(context: CoreContext, item: ReviewItem) -> None:
    """Seal the accounts, or move them with their balances to the target unit."""
    unit = unit_by_account(context, item.unit_account or "")
    payload = item.payload
    target = None
    if payload["action"] == TRANSFER:
        target = _target_unit(context, unit, payload["target_unit_account"])
    for index, row in enumerate(payload["employees"], start=1):
        account, _person = employees.employee_of_unit(context, unit, row["id_number"])
        try:
            _check_status(account, payload["action"])
        except Rejected as error:
            raise Rejected(f"第{index}行：{error.message}") from None
        if target is None:
            _seal(context, unit, account, item)
        else:
            _transfer(context, unit, target, account, item)


def _seal(context: CoreContext, unit: Unit, account: Account, item: ReviewItem) -> None:
    account.status = SEALED
    context.session.add(
        DepositChange(
            unit_id=unit.id,
            account_id=account.id,
            change_type=SEAL,
            effective_month=item.payload["effective_month"],
            old_value=ACCOUNT_STATUS[ACTIVE],
            new_value=ACCOUNT_STATUS[SEALED],
            recorded_on=context.today,
            application_number=item.application_number,
        )
    )


def _transfer(
    context: CoreContext, source: Unit, target: Unit, account: Account, item: ReviewItem
) -> None:
    """Move the account and its balance to `target`, which deposits for it from now."""
    amount = account.balance
    _book_transfer(context, source, target, account, amount)
    old_status = account.status
    account.unit_id = target.id
    account.status = ACTIVE
    _record_transfer(context, source, target, account, amount, item)
    if old_status == SEALED:
        _record_unseal(context, target, account, item)


def _book_transfer(
    context: CoreContext, source: Unit, target: Unit, account: Account, amount: Decimal
) -> None:
    """Book the amount leaving `source` and reaching `target` in each ledger."""
    postings.book(
        context,
        account_id=account.id,
        entry_type=TRANSFER_OUT,
        summary=f"转出至{target.name}",
        amount=-amount,
    )
    postings.book(
        context,
        account_id=account.id,
        entry_type=TRANSFER_IN,
        summary=f"由{source.name}转入",
        amount=amount,
    )
    postings.book(
        context,
        unit_id=source.id,
        entry_type=TRANSFER_OUT,
        summary="职工转出",
        amount=-amount,
    )
    postings.book(
        context,
        unit_id=target.id,
        entry_type=TRANSFER_IN,
        summary="职工转入",
        amount=amount,
    )


def _record_transfer(
    context: CoreContext,
    source: Unit,
    target: Unit,
    account: Account,
    amount: Decimal,
    item: ReviewItem,
) -> None:
    """Add the transfer and the deposit change that each unit lists for it."""
    for unit in (source, target):
        context.session.add(
            DepositChange(
                unit_id=unit.id,
                account_id=account.id,
                change_type=TRANSFER,
                effective_month=item.payload["effective_month"],
                old_value=source.name[:50],
                new_value=target.name[:50],
                recorded_on=context.today,
                application_number=item.application_number,
            )
        )
    context.session.add(
        Transfer(
            account_id=account.id,
            from_unit_id=source.id,
            to_unit_id=target.id,
            amount=amount,
            transferred_on=context.today,
            application_number=item.application_number,
        )
    )


def _record_unseal(
    context: CoreContext, target: Unit, account: Account, item: ReviewItem
) -> None:
    """Add the deposit change of a sealed account that the transfer made active."""
    context.session.add(
        DepositChange(
            unit_id=target.id,
            account_id=account.id,
            change_type="unseal",
            effective_month=item.payload["effective_month"],
            old_value=ACCOUNT_STATUS[SEALED],
            new_value=ACCOUNT_STATUS[ACTIVE],
            recorded_on=context.today,
            application_number=item.application_number,
        )
    )


def transfers(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> list:
    """List transfers out of and into the caller's unit, and its pending ones."""
    unit = caller_unit(context, caller)
    period = params.get("period") or {}
    first, last = period.get("from"), period.get("to")
    source, target = aliased(Unit), aliased(Unit)
    query = (
        select(Transfer, Account, Person, source, target)
        .join(Account, Transfer.account_id == Account.id)
        .join(Person, Account.person_id == Person.id)
        .join(source, Transfer.from_unit_id == source.id)
        .join(target, Transfer.to_unit_id == target.id)
        .where(or_(Transfer.from_unit_id == unit.id, Transfer.to_unit_id == unit.id))
    )
    if first:
        query = query.where(Transfer.transferred_on >= first)
    if last:
        query = query.where(Transfer.transferred_on <= last)
    found = context.session.execute(
        query.order_by(Transfer.transferred_on, Transfer.id)
    )
    rows = [_transfer_row(unit, *columns) for columns in found]
    return rows + _pending_rows(context, unit, first, last)


def _transfer_row(
    unit: Unit,
    transfer: Transfer,
    account: Account,
    person: Person,
    source: Unit,
    target: Unit,
) -> dict[str, Any]:
    return {
        "direction": "转出" if source.id == unit.id else "转入",
        "person_account": account.person_account,
        "name": person.name,
        "id_number_masked": mask_id_number(person.id_number),
        "from_unit": source.name,
        "to_unit": target.name,
        "amount": transfer.amount,
        "date": transfer.transferred_on,
        "status": DONE,
        "application_number": transfer.application_number or "",
    }


def _pending_rows(
    context: CoreContext, unit: Unit, first: dt.date | None, last: dt.date | None
) -> list[dict[str, Any]]:
    """List the transfers the unit applied for that no reviewer has decided yet."""
    items = context.session.scalars(
        select(ReviewItem)
        .where(
            ReviewItem.operation == SEAL_TRANSFER,
            ReviewItem.status == review.PENDING,
            ReviewItem.unit_account == unit.unit_account,
        )
        .order_by(ReviewItem.created_at, ReviewItem.id)
    )
    rows = []
    for item in items:
        day = item.created_at.date()
        if item.payload.get("action") != TRANSFER:
            continue
        if (first and day < first) or (last and day > last):
            continue
        target = context.session.scalars(
            select(Unit).where(Unit.unit_account == item.payload["target_unit_account"])
        ).first()
        for row in item.payload["employees"]:
            rows.append(
                {
                    "direction": "转出",
                    "person_account": row["person_account"],
                    "name": row["name"],
                    "id_number_masked": mask_id_number(row["id_number"]),
                    "from_unit": unit.name,
                    "to_unit": target.name if target else "",
                    "amount": Decimal(row["balance"]),
                    "date": day,
                    "status": WAITING,
                    "application_number": item.application_number,
                }
            )
    return rows
