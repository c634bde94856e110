"""Early repayment of an HPF loan: partial or full, and the schedule that follows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sqlalchemy import delete

from connectors.base import Caller, Rejected
from connectors.embedded import finance, inputs, review
from connectors.embedded.codes import LOAN_SETTLED
from connectors.embedded.context import CoreContext
from connectors.embedded.loan_accounts import instalments, lock_borrower, own_loan
from connectors.embedded.models import Loan, LoanInstalment, LoanRepayment, ReviewItem
from connectors.embedded.scope import caller_account

EARLY_REPAYMENT = "loan.early_repayment"
PARTIAL = "partial"
FULL = "full"
KEEP_TERM = "keep_term"
KEEP_PAYMENT = "keep_payment"
OPTIONS = {KEEP_TERM: "期限不变，减少月还款额", KEEP_PAYMENT: "月还款额不变，缩短期限"}
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Plan:
    """An early repayment worked out on a loan's current state."""

    loan: Loan
    mode: str
    option: str
    amount: Decimal
    balance: Decimal
    paid_months: int
    remaining_months: int
    old_payment: Decimal
    old_interest: Decimal
    schedule: list[finance.Instalment]

    @property
    def new_interest(self) -> Decimal:
        return finance.total_interest(self.schedule)


def status(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Return a contract's balance, rate, remaining months and current instalment."""
    loan = own_loan(context, caller, params.get("contract"))
    rows = instalments(context, loan)
    unpaid = [row for row in rows if row.paid_on is None]
    return {
        "balance": loan.balance,
        "rate": loan.rate,
        "remaining_months": len(unpaid),
        "payment": unpaid[0].payment if unpaid else ZERO,
    }


def trial(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Work out an early repayment and show the new schedule, without queueing it."""
    plan = _plan(context, _loan(context, caller, params), params)
    _reject_open(context, caller, plan.loan)
    return describe(plan)


def submit(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Queue an early repayment for review."""
    number = inputs.text(params, "application_number", "申报编号")
    earlier = review.already_submitted(context, caller, EARLY_REPAYMENT, number)
    if earlier is not None:
        return earlier
    lock_borrower(context, caller)
    # A call with the same number may have committed while this one waited for the
    # lock. The check for an open early repayment would then reject this retry.
    earlier = review.already_submitted(context, caller, EARLY_REPAYMENT, number)
    if earlier is not None:
        return earlier
    loan = _loan(context, caller, params)
    plan = _plan(context, loan, params)
    _reject_open(context, caller, plan.loan)
    payload = {
        "contract": plan.loan.contract_number,
        "mode": plan.mode,
        "option": plan.option,
        "amount": plan.amount,
        "balance": plan.balance,
        "new_payment": plan.schedule[0].payment if plan.schedule else ZERO,
        "new_months": len(plan.schedule),
    }
    return review.submit(context, caller, EARLY_REPAYMENT, number, payload)


def describe(plan: Plan) -> dict[str, Any]:
    schedule = plan.schedule
    return {
        "contract": plan.loan.contract_number,
        "mode_label": "全部提前还款" if plan.mode == FULL else "部分提前还款",
        "option_label": OPTIONS.get(plan.option, "结清贷款"),
        "balance": plan.balance,
        "amount": plan.amount,
        "balance_after": plan.balance - plan.amount,
        "old_payment": plan.old_payment,
        "old_months": plan.remaining_months,
        "new_payment": schedule[0].payment if schedule else ZERO,
        "new_months": len(schedule),
        "last_payment": schedule[-1].payment if schedule else ZERO,
        "interest_saved": plan.old_interest - plan.new_interest,
        "schedule": [
            {
                **row.as_dict(),
                "month": plan.paid_months + row.month,
                "due_date": finance.add_months(
                    plan.loan.start_date, plan.paid_months + row.month
                ),
            }
            for row in schedule
        ],
    }


def approve(context: CoreContext, item: ReviewItem) -> None:
    """Record the repayment, lower the balance and replace the unpaid instalments.

    The plan is worked out again on the loan as it is on approval, with the
    amount and the choice the depositor made. The repayment is dated on the
    business date of the approval. A full repayment leaves no instalment and
    settles the loan.
    """
    caller = Caller("person", person_account=item.person_account)
    loan = own_loan(context, caller, item.payload["contract"])
    plan = _plan(context, loan, item.payload)
    context.session.execute(
        delete(LoanInstalment).where(
            LoanInstalment.loan_id == loan.id, LoanInstalment.paid_on.is_(None)
        )
    )
    for row in describe(plan)["schedule"]:
        context.session.add(
            LoanInstalment(
                loan_id=loan.id,
                month=row["month"],
                due_date=row["due_date"],
                payment=row["payment"],
                principal=row["principal"],
                interest=row["interest"],
                balance=row["balance"],
                paid_on=None,
            )
        )
    loan.balance = plan.balance - plan.amount
    context.session.add(
        LoanRepayment(
            loan_id=loan.id,
            repaid_on=context.today,
            kind=plan.mode,
            payment=plan.amount,
            principal=plan.amount,
            interest=ZERO,
            balance=loan.balance,
            application_number=item.application_number,
        )
    )
    # The balances as approved, kept with the application.
    item.payload = review.plain(
        {**item.payload, "balance": plan.balance, "balance_after": loan.balance}
    )
    if loan.balance == 0:
        loan.status = LOAN_SETTLED
        loan.offset_signed = False


def _loan(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> Loan:
    caller_account(context, caller)
    return own_loan(context, caller, inputs.text(params, "contract", "借款合同编号"))


def _reject_open(context: CoreContext, caller: Caller, loan: Loan) -> None:
    review.reject_open_for_contract(
        context, caller, EARLY_REPAYMENT, loan.contract_number, "提前还款"
    )


def _plan(context: CoreContext, loan: Loan, params: Mapping[str, Any]) -> Plan:
    if loan.status == LOAN_SETTLED or loan.balance <= 0:
        raise Rejected("该贷款已结清，无需提前还款", field="contract")
    rows = instalments(context, loan)
    unpaid = [row for row in rows if row.paid_on is None]
    if not unpaid:
        raise Rejected("该贷款没有未还的期数", field="contract")
    mode = str(params.get("mode") or "")
    if mode == FULL:
        # NOTE: settling in full repays the outstanding principal only. Interest for
        # the days since the last due date is not charged, as the core keeps no rule
        # for it.
        amount, option = loan.balance, ""
    elif mode == PARTIAL:
        amount = inputs.amount(params, "amount", "提前还款金额")
        option = str(params.get("option") or "")
        if option not in OPTIONS:
            raise Rejected("请选择还款后期限不变或月还款额不变", field="option")
        _check_partial(context, loan, amount)
    else:
        raise Rejected("请选择部分提前还款或全部提前还款", field="mode")
    schedule = _new_schedule(loan, amount, option, len(unpaid), unpaid[0].payment)
    return Plan(
        loan=loan,
        mode=mode,
        option=option,
        amount=amount,
        balance=loan.balance,
        paid_months=len(rows) - len(unpaid),
        remaining_months=len(unpaid),
        old_payment=unpaid[0].payment,
        old_interest=sum((row.interest for row in unpaid), ZERO),
        schedule=schedule,
    )


def _check_partial(context: CoreContext, loan: Loan, amount: Decimal) -> None:
    minimum = context.policy.value("early_repayment_min", context.today)
    if amount < minimum:
        raise Rejected(f"部分提前还款金额不能少于 {minimum:,.2f} 元", field="amount")
    if amount >= loan.balance:
        raise Rejected(
            f"部分提前还款金额应少于贷款余额 {loan.balance:,.2f} 元，"
            "还清全部余额请选择全部提前还款",
            field="amount",
        )


def _new_schedule(
    loan: Loan, amount: Decimal, option: str, months: int, payment: Decimal
) -> list[finance.Instalment]:
    remaining = loan.balance - amount
    if remaining == 0:
        return []
    if loan.method == finance.EQUAL_PRINCIPAL:
        if option == KEEP_PAYMENT:
            # The monthly principal stays, so the loan needs fewer months.
            share = loan.balance / months
            months = int((remaining / share).to_integral_value(rounding=ROUND_CEILING))
        return finance.equal_principal_schedule(remaining, loan.rate, months)
    if option == KEEP_PAYMENT:
        return finance.repay_keeping_payment(
            loan.balance, amount, loan.rate, months, payment
        )
    return finance.repay_keeping_term(loan.balance, amount, loan.rate, months)
