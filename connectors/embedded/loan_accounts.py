"""The depositor's own HPF loans: contracts, the loan card, repayments and progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from connectors.base import Caller, NotFound
from connectors.embedded import finance, ledger
from connectors.embedded.bookings import lock_account
from connectors.embedded.codes import LOAN_REPAYING, LOAN_SETTLED, LOAN_STATUS
from connectors.embedded.context import CoreContext
from connectors.embedded.masks import mask_account
from connectors.embedded.models import (
    Loan,
    LoanInstalment,
    LoanRepayment,
    Person,
    ReviewItem,
)
from connectors.embedded.scope import caller_account
from engine.clock import business_date
from engine.identifiers import mask_mobile

CONTRACT_NOT_FOUND = "未找到该借款合同编号"
ZERO = Decimal("0.00")

METHOD_LABELS = {
    finance.EQUAL_INSTALMENTS: "等额本息",
    finance.EQUAL_PRINCIPAL: "等额本金",
}

# Loan operations of the hall and how the progress timeline names them.
LOAN_OPERATIONS = {
    "loan.early_repayment": "提前还款申请",
    "loan.change": "贷款基本信息变更申请",
    "loan.offset_sign": "冲还贷签约申请",
    "loan.offset_revoke": "冲还贷撤销申请",
    "withdrawal.repayment": "还贷提取申请",
}
REVIEW_STATUS = {"pending": "待审核", "approved": "审核通过", "returned": "退回"}


def own_loans(context: CoreContext, caller: Caller) -> list[Loan]:
    """Return the caller's loans, repaying ones first, newest first within each."""
    _account, person = caller_account(context, caller)
    loans = context.session.scalars(
        select(Loan).where(Loan.person_id == person.id)
    ).all()
    return sorted(
        loans,
        key=lambda loan: (loan.status == LOAN_SETTLED, -loan.start_date.toordinal()),
    )


def own_loan(
    context: CoreContext, caller: Caller, contract_number: Any, field: str = "contract"
) -> Loan:
    """Return the caller's loan with this contract number, or the first one if empty.

    Another depositor's contract raises the same NotFound as an unknown one.
    """
    loans = own_loans(context, caller)
    requested = str(contract_number or "").strip()
    if not requested:
        if not loans:
            raise NotFound("您名下没有公积金贷款", field=field)
        return loans[0]
    for loan in loans:
        if loan.contract_number == requested:
            return loan
    raise NotFound(f"{CONTRACT_NOT_FOUND}：{requested}", field=field)


def lock_borrower(context: CoreContext, caller: Caller) -> None:
    """Take the write lock of the caller's account until the transaction ends.

    Loan submits take it before they read the contract or look for its open
    applications, so two submits of one depositor run one after the other and the
    second reads what the first queued or changed.
    """
    account, _person = caller_account(context, caller)
    lock_account(context, account)


def contracts(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> list:
    """List the caller's contracts as choices: number and status."""
    return [
        {
            "value": loan.contract_number,
            "label": f"{loan.contract_number}（{LOAN_STATUS[loan.status]}）",
        }
        for loan in own_loans(context, caller)
    ]


def repaying_contracts(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List the caller's contracts still being repaid, as choices."""
    return [
        choice
        for choice, loan in zip(
            contracts(context, caller, params), own_loans(context, caller), strict=True
        )
        if loan.status != LOAN_SETTLED
    ]


def instalments(context: CoreContext, loan: Loan) -> list[LoanInstalment]:
    return list(
        context.session.scalars(
            select(LoanInstalment)
            .where(LoanInstalment.loan_id == loan.id)
            .order_by(LoanInstalment.month)
        )
    )


def early_repayments(context: CoreContext, loan: Loan) -> list[LoanRepayment]:
    """Return the loan's repayments outside its schedule, oldest first."""
    return list(
        context.session.scalars(
            select(LoanRepayment)
            .where(LoanRepayment.loan_id == loan.id)
            .order_by(LoanRepayment.repaid_on, LoanRepayment.id)
        )
    )


def repaid_total(context: CoreContext, loan: Loan) -> Decimal:
    """Sum the principal and interest paid on a loan, by instalment or early repayment."""
    scheduled = sum(
        (row.payment for row in instalments(context, loan) if row.paid_on), ZERO
    )
    early = sum((row.payment for row in early_repayments(context, loan)), ZERO)
    return scheduled + early


def settlement_date(context: CoreContext, loan: Loan) -> dt.date | None:
    """Return the day of a settled loan's last repayment, or None if it is not settled.

    That is the due date of the last instalment, or the day an early repayment of the
    rest was approved. A settled loan without any repayment also returns None.
    """
    if loan.status != LOAN_SETTLED:
        return None
    days = [row.paid_on for row in instalments(context, loan) if row.paid_on]
    days += [row.repaid_on for row in early_repayments(context, loan)]
    return max(days, default=None)


def account_card(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Return the loan card of one of the caller's contracts."""
    loan = own_loan(context, caller, params.get("contract"))
    person = context.session.get_one(Person, loan.person_id)
    rows = instalments(context, loan)
    paid = [row for row in rows if row.paid_on is not None]
    unpaid = [row for row in rows if row.paid_on is None]
    overdue = [row for row in unpaid if row.due_date < context.today]
    upcoming = next((row for row in unpaid if row.due_date >= context.today), None)
    return {
        "contract_number": loan.contract_number,
        "amount": loan.amount,
        "term_months": loan.term_months,
        "rate": loan.rate,
        "method_label": METHOD_LABELS.get(loan.method, loan.method),
        "start_date": loan.start_date,
        "end_date": _end_date(context, loan, rows),
        "balance": loan.balance,
        "status_label": LOAN_STATUS.get(loan.status, loan.status),
        "paid_months": len(paid),
        "remaining_months": len(unpaid),
        "next_due_date": upcoming.due_date if upcoming else None,
        "next_payment": upcoming.payment if upcoming else ZERO,
        "overdue_months": len(overdue),
        "overdue_amount": sum((row.payment for row in overdue), ZERO),
        "offset_label": "已签约" if loan.offset_signed else "未签约",
        "bank": loan.bank,
        "repayment_card": mask_account(loan.repayment_card),
        "house_address": loan.house_address,
        "mobile": mask_mobile(person.mobile),
        "address": person.address,
    }


def _end_date(
    context: CoreContext, loan: Loan, rows: list[LoanInstalment]
) -> dt.date | None:
    """Return the settlement date of a settled loan, else its last instalment's."""
    settled_on = settlement_date(context, loan)
    if settled_on is not None:
        return settled_on
    return rows[-1].due_date if rows else None


def repayments(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> list:
    """List the repaid instalments and early repayments of one contract in a range."""
    loan = own_loan(context, caller, params.get("contract"))
    start, end = ledger.month_range(params)
    rows = [
        {
            "date": row.paid_on,
            "kind_label": "按月还款",
            "month": row.month,
            "payment": row.payment,
            "principal": row.principal,
            "interest": row.interest,
            # The core books instalments on their due dates, so none carries a penalty.
            "penalty": ZERO,
            "balance": row.balance,
        }
        for row in instalments(context, loan)
        if row.paid_on is not None and start <= row.paid_on < end
    ]
    for repayment in early_repayments(context, loan):
        if start <= repayment.repaid_on < end:
            rows.append(
                {
                    "date": repayment.repaid_on,
                    "kind_label": "提前还款",
                    "month": None,
                    "payment": repayment.payment,
                    "principal": repayment.principal,
                    "interest": repayment.interest,
                    "penalty": ZERO,
                    "balance": repayment.balance,
                }
            )
    return rows


def progress(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> list:
    """List the steps of the caller's loans and loan applications, latest first."""
    steps: list[dict[str, Any]] = []
    for loan in own_loans(context, caller):
        steps.extend(_loan_steps(context, loan))
    steps.extend(_application_steps(context, caller))
    steps.sort(key=lambda step: step["date"], reverse=True)
    return steps


def _loan_steps(context: CoreContext, loan: Loan) -> list[dict[str, Any]]:
    rows = instalments(context, loan)
    paid = [row for row in rows if row.paid_on is not None]
    contract = loan.contract_number
    steps = [
        _step(
            loan.start_date,
            contract,
            "合同签订并放款",
            "已完成",
            f"贷款金额 {loan.amount:,.2f} 元，{loan.term_months} 期",
        )
    ]
    if paid:
        last = paid[-1]
        steps.append(
            _step(
                last.paid_on,
                contract,
                "按月还款",
                "已完成" if loan.status == LOAN_SETTLED else "进行中",
                f"已还 {len(paid)}/{len(rows)} 期，剩余本金 {loan.balance:,.2f} 元",
            )
        )
    settled_on = settlement_date(context, loan)
    if settled_on is not None:
        steps.append(_step(settled_on, contract, "贷款结清", "已完成", ""))
    elif loan.status == LOAN_REPAYING and len(paid) < len(rows):
        due = rows[len(paid)]
        steps.append(
            _step(
                due.due_date,
                contract,
                "下期还款",
                "待还款",
                f"应还 {due.payment:,.2f} 元",
            )
        )
    return steps


def _application_steps(context: CoreContext, caller: Caller) -> list[dict[str, Any]]:
    items = context.session.scalars(
        select(ReviewItem).where(
            ReviewItem.caller_hall == "person",
            ReviewItem.person_account == caller.person_account,
            ReviewItem.operation.in_(list(LOAN_OPERATIONS)),
        )
    )
    steps = []
    for item in items:
        # Timestamps are stored in UTC, but the timeline shows dates in China.
        day = business_date(item.decided_at or item.created_at)
        steps.append(
            _step(
                day,
                str(item.payload.get("contract") or ""),
                LOAN_OPERATIONS[item.operation],
                REVIEW_STATUS.get(item.status, item.status),
                f"申报编号 {item.application_number}"
                + (f"，{item.comment}" if item.comment else ""),
            )
        )
    return steps


def _step(
    day: dt.date, contract: str, step: str, status: str, detail: str
) -> dict[str, Any]:
    return {
        "date": day,
        "contract": contract,
        "step": step,
        "status": status,
        "detail": detail,
    }
