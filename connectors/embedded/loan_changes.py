"""Changes of a loan's contact details and repayment bank card."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stdnum import luhn
from stdnum.exceptions import ValidationError

from connectors.base import Caller, Rejected
from connectors.embedded import inputs, review
from connectors.embedded.context import CoreContext
from connectors.embedded.loan_accounts import lock_borrower, own_loan
from connectors.embedded.masks import mask_account
from connectors.embedded.models import Loan, Person, ReviewItem

CHANGE = "loan.change"
MAX_ADDRESS_LENGTH = 200


def details(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Return a contract's current mobile, address and masked repayment card."""
    loan = own_loan(context, caller, params.get("contract"))
    person = context.session.get_one(Person, loan.person_id)
    return {
        "current_mobile": person.mobile,
        "current_address": person.address,
        "current_card": mask_account(loan.repayment_card),
        "bank": loan.bank,
    }


def trial(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Check a change and show each detail before and after, without queueing it."""
    loan, person, changes = _checked(context, caller, params)
    _reject_open(context, caller, loan)
    new_card = changes.get("repayment_card", loan.repayment_card)
    return {
        "contract": loan.contract_number,
        "mobile_before": person.mobile,
        "mobile_after": changes.get("mobile", person.mobile),
        "address_before": person.address,
        "address_after": changes.get("address", person.address),
        "card_before": mask_account(loan.repayment_card),
        "card_after": mask_account(new_card),
    }


def submit(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Queue new contact details or a new repayment card of one contract."""
    number = inputs.text(params, "application_number", "申报编号")
    earlier = review.already_submitted(context, caller, CHANGE, number)
    if earlier is not None:
        return earlier
    lock_borrower(context, caller)
    # A call with the same number may have committed while this one waited for the
    # lock. The check for an open change of the contract would then reject this retry.
    earlier = review.already_submitted(context, caller, CHANGE, number)
    if earlier is not None:
        return earlier
    loan, _person, changes = _checked(context, caller, params)
    _reject_open(context, caller, loan)
    payload = {"contract": loan.contract_number, **changes}
    return review.submit(context, caller, CHANGE, number, payload)


def _checked(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> tuple[Loan, Person, dict[str, str]]:
    loan = own_loan(context, caller, inputs.text(params, "contract", "借款合同编号"))
    person = context.session.get_one(Person, loan.person_id)
    changes = _changes(params)
    unchanged = (
        changes.get("mobile", person.mobile) == person.mobile
        and changes.get("address", person.address) == person.address
        and changes.get("repayment_card", loan.repayment_card) == loan.repayment_card
    )
    if unchanged:
        raise Rejected("请至少填写一项与现有信息不同的新信息")
    return loan, person, changes


def _reject_open(context: CoreContext, caller: Caller, loan: Loan) -> None:
    review.reject_open_for_contract(
        context, caller, CHANGE, loan.contract_number, "信息变更"
    )


def approve(context: CoreContext, item: ReviewItem) -> None:
    """Store the new details on the borrower and the contract."""
    caller = Caller("person", person_account=item.person_account)
    loan = own_loan(context, caller, item.payload["contract"])
    person = context.session.get_one(Person, loan.person_id)
    if "mobile" in item.payload:
        person.mobile = item.payload["mobile"]
    if "address" in item.payload:
        person.address = item.payload["address"]
    if "repayment_card" in item.payload:
        loan.repayment_card = item.payload["repayment_card"]


def _changes(params: Mapping[str, Any]) -> dict[str, str]:
    changes = {}
    if params.get("mobile"):
        changes["mobile"] = inputs.mobile(params.get("mobile"))
    address = str(params.get("address") or "").strip()
    if address:
        if len(address) > MAX_ADDRESS_LENGTH:
            raise Rejected(f"联系地址最多 {MAX_ADDRESS_LENGTH} 个字", field="address")
        changes["address"] = address
    card = str(params.get("repayment_card") or "").replace(" ", "")
    if card:
        try:
            if not 16 <= len(card) <= 19:
                raise ValidationError()
            changes["repayment_card"] = str(luhn.validate(card))
        except ValidationError:
            raise Rejected("还款银行卡号无效，请核对", field="repayment_card") from None
    return changes
