"""A unit's change of its registered details: address, representatives, bank."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.base import Caller, Rejected
from connectors.embedded import employees, inputs, review
from connectors.embedded.codes import ACTIVE
from connectors.embedded.context import CoreContext
from connectors.embedded.masks import mask_id_number
from connectors.embedded.models import ReviewItem, Unit
from connectors.embedded.scope import caller_unit, unit_by_account
from connectors.embedded.units import handler_of
from engine.identifiers import mask_mobile

UNIT_CHANGE = "unit.change"
# The details a unit may change, with the labels its messages use.
LABELS = {
    "address": "单位地址",
    "postcode": "邮政编码",
    "legal_rep": "法定代表人",
    "legal_rep_id_number": "法定代表人证件号码",
    "phone": "单位电话",
    "handler_id_number": "经办人证件号码",
    "handler_mobile": "经办人手机号码",
    "bank": "托收银行",
    "bank_account": "托收银行账号",
    "debit_day": "每月托收日",
}
# Details stored as they are in the unit's own columns.
UNIT_COLUMNS = (
    "address",
    "postcode",
    "legal_rep",
    "legal_rep_id_number",
    "phone",
    "bank",
    "bank_account",
)
# Latest day of the month every month has, so a direct debit never skips a month.
LAST_DEBIT_DAY = 28


def details(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Return the caller's unit details a unit-info change starts from."""
    unit = caller_unit(context, caller)
    return _current(context, unit)


def _current(context: CoreContext, unit: Unit) -> dict[str, Any]:
    handler = handler_of(context, unit)
    return {
        "unit_name": unit.name,
        "address": unit.address,
        "postcode": unit.postcode,
        "legal_rep": unit.legal_rep,
        "legal_rep_id_number": unit.legal_rep_id_number,
        "phone": unit.phone,
        "handler_id_number": handler.id_number if handler else "",
        "handler_name": handler.name if handler else "",
        "handler_mobile": handler.mobile if handler else "",
        "bank": unit.bank,
        "bank_account": unit.bank_account,
        "debit_day": str(unit.debit_day),
    }


def handler(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Back-fill a new handler from the ID number; the handler must be depositing."""
    unit = caller_unit(context, caller)
    id_number = inputs.id_number(
        params.get("handler_id_number"), context.today, "handler_id_number"
    )
    account, person = employees.employee_of_unit(
        context, unit, id_number, "handler_id_number"
    )
    if account.status != ACTIVE:
        raise Rejected("经办人须为本单位正常缴存的职工", field="handler_id_number")
    return {"handler_name": person.name, "handler_mobile": person.mobile}


def handler_identity(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Return the registered handler of the caller's unit, masked for display."""
    unit = caller_unit(context, caller)
    person = handler_of(context, unit)
    if person is None:
        raise Rejected("本单位尚未登记经办人，请先办理单位信息变更")
    return {
        "handler_name": person.name,
        "handler_id_number": mask_id_number(person.id_number),
        "handler_mobile": mask_mobile(person.mobile),
        "person_account": unit.handler_person_account,
    }


def change_unit(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Queue the changed details of the caller's unit for review."""
    unit = caller_unit(context, caller)
    number = inputs.text(params, "application_number", "申报编号")
    earlier = review.already_submitted(context, caller, UNIT_CHANGE, number)
    if earlier is not None:
        return earlier
    new = _new_details(context, params)
    handler(context, caller, new)
    old = _current(context, unit)
    changed = {name: value for name, value in new.items() if value != old[name]}
    if not changed:
        raise Rejected("没有修改任何信息，无需提交", field="address")
    payload = {"old": {name: old[name] for name in changed}, "new": changed}
    return review.submit(context, caller, UNIT_CHANGE, number, payload)


def _new_details(context: CoreContext, params: Mapping[str, Any]) -> dict[str, str]:
    found = {name: inputs.text(params, name, label) for name, label in LABELS.items()}
    if not re.fullmatch(r"[0-9]{6}", found["postcode"]):
        raise Rejected("邮政编码应为6位数字", field="postcode")
    if not re.fullmatch(r"[0-9]{10,30}", found["bank_account"]):
        raise Rejected("托收银行账号应为10至30位数字", field="bank_account")
    day = found["debit_day"]
    if not day.isdigit() or not 1 <= int(day) <= LAST_DEBIT_DAY:
        raise Rejected(
            f"每月托收日应为1至{LAST_DEBIT_DAY}之间的整数", field="debit_day"
        )
    found["debit_day"] = str(int(day))
    found["handler_mobile"] = inputs.mobile(found["handler_mobile"], "handler_mobile")
    for name in ("legal_rep_id_number", "handler_id_number"):
        found[name] = inputs.id_number(found[name], context.today, name)
    return found


def approve_unit_change(context: CoreContext, item: ReviewItem) -> None:
    """Write the changed details to the unit, its handler and the handler's mobile."""
    unit = unit_by_account(context, item.unit_account or "")
    new = item.payload["new"]
    for name in UNIT_COLUMNS:
        if name in new:
            setattr(unit, name, new[name])
    if "debit_day" in new:
        unit.debit_day = int(new["debit_day"])
    id_number = new.get("handler_id_number") or item.payload["old"].get(
        "handler_id_number", _current(context, unit)["handler_id_number"]
    )
    account, person = employees.employee_of_unit(
        context, unit, id_number, "handler_id_number"
    )
    unit.handler_person_account = account.person_account
    if "handler_mobile" in new:
        person.mobile = new["handler_mobile"]
