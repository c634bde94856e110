"""A unit's change of an employee's basic details: name, mobile, address, bank card."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import Caller, Rejected
from connectors.embedded import employees, inputs, review
from connectors.embedded.context import CoreContext
from connectors.embedded.models import Person, ReviewItem
from connectors.embedded.scope import caller_unit, unit_by_account
from engine.identifiers import IdentifierInvalid, normalise_bank_card

EMPLOYEE_CHANGE = "person.change"
# The details a unit may change, with their labels, in the order a form shows them.
DETAILS = {
    "name": "姓名",
    "mobile": "手机号码",
    "address": "联系地址",
    "bank_card": "银行卡号",
}


def change_employee(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Queue new details of one of the caller's employees for review."""
    unit = caller_unit(context, caller)
    number = inputs.text(params, "application_number", "申报编号")
    earlier = review.already_submitted(context, caller, EMPLOYEE_CHANGE, number)
    if earlier is not None:
        return earlier
    id_number = inputs.id_number(params.get("id_number"), context.today)
    account, person = employees.employee_of_unit(context, unit, id_number)
    new = _details(params)
    old = {name: getattr(person, name) or "" for name in DETAILS}
    changed = {name: value for name, value in new.items() if value != old[name]}
    if not changed:
        raise Rejected("没有修改任何信息，无需提交", field="name")
    payload = {
        "id_number": id_number,
        "person_account": account.person_account,
        "old": {name: old[name] for name in changed},
        "new": changed,
    }
    return review.submit(context, caller, EMPLOYEE_CHANGE, number, payload)


def _details(params: Mapping[str, Any]) -> dict[str, str]:
    name = inputs.text(params, "name", "姓名")
    if len(name) > 30:
        raise Rejected("姓名最多30个字符", field="name")
    address = str(params.get("address") or "").strip()
    if len(address) > 200:
        raise Rejected("联系地址最多200个字符", field="address")
    card = str(params.get("bank_card") or "").strip()
    if card:
        try:
            card = normalise_bank_card(card)
        except IdentifierInvalid:
            raise Rejected(f"银行卡号 {card} 无效，请核对", field="bank_card") from None
    return {
        "name": name,
        "mobile": inputs.mobile(params.get("mobile")),
        "address": address,
        "bank_card": card,
    }


def approve_employee_change(context: CoreContext, item: ReviewItem) -> None:
    """Write the changed details to the person, if still an employee of the unit."""
    unit = unit_by_account(context, item.unit_account or "")
    payload = item.payload
    _account, person = employees.employee_of_unit(context, unit, payload["id_number"])
    apply_details(person, payload["new"])


def apply_details(person: Person, details: Mapping[str, str]) -> None:
    for name, value in details.items():
        if name in DETAILS:
            setattr(person, name, value)
