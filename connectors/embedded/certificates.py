"""Data of the printable certificates: deposit certificates, interest statements and
loan settlement certificates, each scoped to the caller's own unit or account."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from connectors.base import Caller, NotFound, Rejected
from connectors.embedded import codes, finance, inputs
from connectors.embedded.context import CoreContext
from connectors.embedded.early_repayment import FULL
from connectors.embedded.interest import settled_years, year_settlements
from connectors.embedded.loan_accounts import (
    early_repayments,
    instalments,
    settlement_date,
)
from connectors.embedded.masks import mask_account, mask_id_number
from connectors.embedded.models import Account, LedgerEntry, Loan
from connectors.embedded.persons import account as account_card
from connectors.embedded.scope import caller_account, caller_unit
from connectors.embedded.units import deposit_for
from connectors.embedded.units import profile as unit_card

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")
METHOD_LABELS = {
    finance.EQUAL_INSTALMENTS: "等额本息",
    finance.EQUAL_PRINCIPAL: "等额本金",
}
CONTRACT_NOT_FOUND = "未找到该借款合同"
NOT_SETTLED = "该借款合同尚未结清，结清后才能打印贷款结清证明"
RECORDS_INCOMPLETE = (
    "该借款合同的还款记录不完整，暂不能打印贷款结清证明，请联系公积金中心核实"
)
NO_SETTLEMENT = "该年度没有结息记录，请选择其他年度"


def person_deposit(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Return the depositor's deposit certificate: account card and recent months."""
    card = account_card(context, caller, params)
    own, _person = caller_account(context, caller)
    card["months_paid_last_year"] = _months_paid(context, own)
    card["person_account_masked"] = mask_account(own.person_account)
    return card


def _months_paid(context: CoreContext, own: Account) -> int:
    """Count the twelve whole months before this one that have a deposit booked."""
    this_month = context.today.replace(day=1)
    since = finance.add_months(this_month, -12)
    days = context.session.scalars(
        select(LedgerEntry.entry_date).where(
            LedgerEntry.account_id == own.id,
            LedgerEntry.entry_type.in_((codes.REMITTANCE, codes.BACK_PAYMENT)),
            LedgerEntry.entry_date >= since,
            LedgerEntry.entry_date < this_month,
        )
    )
    return len({(day.year, day.month) for day in days})


def unit_deposit(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Return the unit's deposit certificate: registration, deposits and arrears."""
    unit = caller_unit(context, caller)
    card = unit_card(context, caller, params)
    accounts = context.session.scalars(
        select(Account).where(
            Account.unit_id == unit.id, Account.status == codes.ACTIVE
        )
    )
    monthly_total = sum(
        (deposit_for(context, unit, account.base).total for account in accounts), ZERO
    )
    last_paid = context.session.scalar(
        select(func.max(LedgerEntry.entry_date)).where(
            LedgerEntry.unit_id == unit.id,
            LedgerEntry.entry_type == codes.REMITTANCE,
        )
    )
    arrears = _months_in_arrears(last_paid, context.today)
    return {
        **card,
        "opened_on": unit.opened_on,
        "monthly_total": monthly_total,
        "last_paid_month": f"{last_paid:%Y-%m}" if last_paid else None,
        "arrears_months": arrears,
        "arrears_label": f"欠缴 {arrears} 个月" if arrears else "无欠缴",
    }


def _months_in_arrears(last_paid: dt.date | None, today: dt.date) -> int:
    """Count whole months from the last paid month to last month.

    The current month is not yet due, so a unit that paid last month owes nothing.
    """
    if last_paid is None:
        return 0
    due = finance.add_months(today.replace(day=1), -1)
    months = (due.year - last_paid.year) * 12 + due.month - last_paid.month
    return max(months, 0)


def interest_years(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List the interest years settled for the caller's unit, newest first."""
    unit = caller_unit(context, caller)
    # An interest year runs from 1 July of the year before to 30 June.
    return [
        {"value": str(year), "label": f"{year}年度（{year - 1}-07-01 至 {year}-06-30）"}
        for year in settled_years(context, unit)
    ]


def unit_interest_statement(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Return every employee's interest settlement of one interest year, with totals."""
    unit = caller_unit(context, caller)
    year = inputs.whole_number(params, "year", "结息年度")
    rows = year_settlements(context, unit, year)
    if not rows:
        raise NotFound(NO_SETTLEMENT, field="year")
    settled_on = rows[0][0].settled_on
    lines = [
        {
            "person_account": account.person_account,
            "name": person.name,
            "id_number_masked": mask_id_number(person.id_number),
            "balance_before": settlement.balance_before,
            "interest": settlement.interest,
            "balance_after": settlement.balance_after,
        }
        for settlement, account, person in rows
    ]
    return {
        "name": unit.name,
        "unit_account": unit.unit_account,
        "year": year,
        "year_start": finance.interest_year_start(settled_on),
        "year_end": settled_on,
        "rate": rows[0][0].rate,
        "employee_count": len(lines),
        "total_before": sum((line["balance_before"] for line in lines), ZERO),
        "total_interest": sum((line["interest"] for line in lines), ZERO),
        "total_after": sum((line["balance_after"] for line in lines), ZERO),
        "rows": lines,
    }


def settled_loans(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> list:
    """List the depositor's settled loan contracts as choices."""
    _own, person = caller_account(context, caller)
    contracts = context.session.scalars(
        select(Loan.contract_number)
        .where(Loan.person_id == person.id, Loan.status == codes.LOAN_SETTLED)
        .order_by(Loan.contract_number)
    )
    return [{"value": number, "label": number} for number in contracts]


def loan_settlement(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Return the settlement certificate of one of the depositor's settled loans.

    Another person's contract is reported as not found. An unsettled one is
    rejected, and so is a settled one whose repayments on record do not add up to
    the loan amount.
    """
    _own, person = caller_account(context, caller)
    number = inputs.text(params, "contract_number", "借款合同编号")
    loan = context.session.scalars(
        select(Loan).where(Loan.contract_number == number, Loan.person_id == person.id)
    ).first()
    if loan is None:
        raise NotFound(CONTRACT_NOT_FOUND, field="contract_number")
    if loan.status != codes.LOAN_SETTLED or loan.balance != 0:
        raise Rejected(NOT_SETTLED, field="contract_number")
    paid = [row for row in instalments(context, loan) if row.paid_on is not None]
    early = early_repayments(context, loan)
    settled_on = settlement_date(context, loan)
    principal_paid = sum((row.principal for row in paid), ZERO) + sum(
        (row.principal for row in early), ZERO
    )
    interest_paid = sum((row.interest for row in paid), ZERO) + sum(
        (row.interest for row in early), ZERO
    )
    # The certificate states that the whole principal was repaid on a given day, so
    # the repayments on record must add up to the loan amount.
    if settled_on is None or principal_paid != loan.amount:
        log.warning(
            "settlement certificate of contract %s rejected: principal repaid %s of"
            " %s, settlement date %s",
            loan.contract_number,
            principal_paid,
            loan.amount,
            settled_on,
        )
        raise Rejected(RECORDS_INCOMPLETE, field="contract_number")
    settled_early = any(row.kind == FULL for row in early)
    return {
        "contract_number": loan.contract_number,
        "name": person.name,
        "id_number_masked": mask_id_number(person.id_number),
        "amount": loan.amount,
        "term_months": loan.term_months,
        "rate": loan.rate,
        "method_label": METHOD_LABELS.get(loan.method, loan.method),
        "start_date": loan.start_date,
        "settled_on": settled_on,
        "settlement_label": "提前还款结清" if settled_early else "按期还款结清",
        "principal_paid": principal_paid,
        "interest_paid": interest_paid,
        "bank": loan.bank,
        "house_address": loan.house_address,
    }
