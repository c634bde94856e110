"""Balance offset (冲还贷): signing, revoking and paying instalments from it."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from connectors.base import Caller, Rejected
from connectors.embedded import inputs, review
from connectors.embedded.bookings import book, lock_account
from connectors.embedded.codes import ACTIVE, LOAN_SETTLED, OFFSET, SEALED
from connectors.embedded.context import CoreContext
from connectors.embedded.loan_accounts import lock_borrower, own_loan, own_loans
from connectors.embedded.models import Account, Loan, LoanInstalment, ReviewItem

SIGN = "loan.offset_sign"
REVOKE = "loan.offset_revoke"
TITLES = {SIGN: "冲还贷签约", REVOKE: "冲还贷撤销"}


def sign(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Queue a signing of the balance offset for one repaying contract."""
    return _submit(context, caller, params, SIGN)


def revoke(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Queue a revocation of the balance offset of one contract."""
    return _submit(context, caller, params, REVOKE)


def sign_trial(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Check a signing and show what it changes, without queueing it."""
    return _trial(context, caller, params, SIGN)


def revoke_trial(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Check a revocation and show what it changes, without queueing it."""
    return _trial(context, caller, params, REVOKE)


def _trial(
    context: CoreContext, caller: Caller, params: Mapping[str, Any], operation: str
) -> dict:
    loan = own_loan(context, caller, inputs.text(params, "contract", "借款合同编号"))
    _check(context, caller, loan, operation)
    account = context.session.get_one(Account, loan.account_id)
    return {
        "contract": loan.contract_number,
        "loan_balance": loan.balance,
        "account_balance": account.balance,
        "paid_by": "公积金账户余额，不足时由还款银行卡扣款"
        if operation == SIGN
        else "还款银行卡",
    }


def signable_contracts(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List the caller's repaying contracts without a balance offset, as choices."""
    return _choices(context, caller, signed=False)


def signed_contracts(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List the caller's contracts with a balance offset, as choices."""
    return _choices(context, caller, signed=True)


def _choices(context: CoreContext, caller: Caller, signed: bool) -> list:
    return [
        {"value": loan.contract_number, "label": loan.contract_number}
        for loan in own_loans(context, caller)
        if loan.status != LOAN_SETTLED and loan.offset_signed == signed
    ]


def _submit(
    context: CoreContext, caller: Caller, params: Mapping[str, Any], operation: str
) -> dict:
    number = inputs.text(params, "application_number", "申报编号")
    earlier = review.already_submitted(context, caller, operation, number)
    if earlier is not None:
        return earlier
    lock_borrower(context, caller)
    # A call with the same number may have committed while this one waited for the
    # lock. The check for an open offset application would then reject this retry.
    earlier = review.already_submitted(context, caller, operation, number)
    if earlier is not None:
        return earlier
    loan = own_loan(context, caller, inputs.text(params, "contract", "借款合同编号"))
    _check(context, caller, loan, operation)
    payload = {"contract": loan.contract_number}
    return review.submit(context, caller, operation, number, payload)


def _check(
    context: CoreContext,
    caller: Caller,
    loan: Loan,
    operation: str,
    deciding: str | None = None,
) -> None:
    """Reject what the contract's state does not allow; `deciding` is being approved."""
    if loan.status == LOAN_SETTLED:
        raise Rejected("该贷款已结清，无需办理冲还贷", field="contract")
    if operation == SIGN and loan.offset_signed:
        raise Rejected("该合同已签约冲还贷", field="contract")
    if operation == REVOKE and not loan.offset_signed:
        raise Rejected("该合同未签约冲还贷，无需撤销", field="contract")
    if operation == SIGN:
        account = context.session.get_one(Account, loan.account_id)
        if account.status not in (ACTIVE, SEALED):
            raise Rejected("公积金账户不是正常或封存状态，不能签约冲还贷")
    pending = context.session.scalars(
        select(ReviewItem).where(
            ReviewItem.operation.in_(list(TITLES)),
            ReviewItem.person_account == caller.person_account,
            ReviewItem.status == review.PENDING,
        )
    )
    for item in pending:
        if item.application_number == deciding:
            continue
        if item.payload.get("contract") == loan.contract_number:
            raise Rejected(
                f"该合同已有一笔待审核的{TITLES[item.operation]}申请（申报编号 "
                f"{item.application_number}），审核办结前不能再次申请",
                field="contract",
            )


def approve_sign(context: CoreContext, item: ReviewItem) -> None:
    """Let the balance pay the contract's instalments from now on."""
    _approved_loan(context, item).offset_signed = True


def approve_revoke(context: CoreContext, item: ReviewItem) -> None:
    """Stop paying the contract's instalments from the balance."""
    _approved_loan(context, item).offset_signed = False


def _approved_loan(context: CoreContext, item: ReviewItem) -> Loan:
    caller = Caller("person", person_account=item.person_account)
    loan = own_loan(context, caller, item.payload["contract"])
    _check(context, caller, loan, item.operation, item.application_number)
    return loan


def collect_due_instalments(context: CoreContext) -> int:
    """Mark the instalments due by today as paid; return how many were paid.

    With a balance offset signed, an instalment is paid from the HPF balance with an
    offset entry in the ledger. Without one, or when the balance falls short, the
    bank collects it from the repayment card and the HPF account is not touched.
    Paying the last instalment settles the loan and ends its balance offset.
    """
    due = context.session.scalars(
        select(LoanInstalment)
        .join(Loan, Loan.id == LoanInstalment.loan_id)
        .where(
            LoanInstalment.paid_on.is_(None),
            LoanInstalment.due_date <= context.today,
            Loan.status != LOAN_SETTLED,
        )
        .order_by(LoanInstalment.due_date, LoanInstalment.id)
    ).all()
    count = 0
    for instalment in due:
        loan = context.session.get_one(Loan, instalment.loan_id)
        if loan.offset_signed:
            _pay_from_balance(context, loan, instalment.payment)
        instalment.paid_on = instalment.due_date
        loan.balance = instalment.balance
        if loan.balance == 0:
            # A settled loan has nothing left for the balance offset to pay.
            loan.status = LOAN_SETTLED
            loan.offset_signed = False
        count += 1
    return count


def _pay_from_balance(context: CoreContext, loan: Loan, payment: Decimal) -> None:
    account = lock_account(context, context.session.get_one(Account, loan.account_id))
    if account.status in (ACTIVE, SEALED) and account.balance >= payment:
        book(context, account, OFFSET, f"冲还贷 {loan.contract_number}", -payment)
