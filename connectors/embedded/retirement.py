"""Retirement withdrawal: eligibility by age or certificate, and closing interest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from connectors.base import Caller, Rejected
from connectors.embedded import finance
from connectors.embedded.bookings import book, lock_account
from connectors.embedded.codes import INTEREST, WITHDRAWAL
from connectors.embedded.context import CoreContext
from connectors.embedded.models import Account, LedgerEntry, Person, ReviewItem
from connectors.embedded.scope import caller_account
from connectors.embedded.withdrawals import (
    RETIREMENT,
    TITLES,
    account_of,
    bank_card,
    check_account,
    open_withdrawals,
    queue_withdrawal,
)

CLOSED_BY_WITHDRAWAL = "05"
CERTIFICATE = "retirement_certificate"


def interest_to_date(context: CoreContext, account: Account, day: dt.date) -> Decimal:
    """Compute the interest of the current interest year up to `day`, not counted.

    The balance carried on 1 July earns for the days held; each later entry earns
    from its date, withdrawals negatively, by accumulated balance-days.
    """
    start = finance.interest_year_start(finance.settlement_date_for(day))
    carried = context.session.scalar(
        select(LedgerEntry.balance)
        .where(LedgerEntry.account_id == account.id, LedgerEntry.entry_date < start)
        .order_by(
            LedgerEntry.entry_date.desc(),
            LedgerEntry.sequence.desc(),
            LedgerEntry.id.desc(),
        )
        .limit(1)
    )
    movements = [
        (entry.entry_date, entry.credit - entry.debit)
        for entry in context.session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.account_id == account.id,
                LedgerEntry.entry_date >= start,
                LedgerEntry.entry_date <= day,
            )
        )
    ]
    rate = context.policy.value("interest_rate", day)
    return finance.settle_interest(
        carried or Decimal("0.00"),
        movements,
        rate,
        finance.settlement_date_for(day),
        closing_date=day,
    )


def amount(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Return the balance, the interest to today and their sum, which is withdrawn."""
    account, person = caller_account(context, caller)
    interest = interest_to_date(context, account, context.today)
    retires = retirement_date(context, person)
    return {
        "holder_name": person.name,
        "birth_date": person.birth_date,
        "retirement_date": retires,
        "balance": account.balance,
        "interest": interest,
        "amount": account.balance + interest,
        "eligible_label": "已达到法定退休年龄"
        if retires <= context.today
        else "未达到法定退休年龄，需上传退休证明",
    }


def retirement_date(context: CoreContext, person: Person) -> dt.date:
    return finance.retirement_date(
        context.policy, person.birth_date, person.retirement_group
    )


def trial(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Check eligibility and return what the account would pay out today."""
    account, person = caller_account(context, caller)
    return _check(context, account, person, params)


def submit(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Queue a retirement withdrawal of the whole balance for review."""

    def assess(account: Account, person: Person) -> dict[str, Any]:
        return _check(context, account, person, params)

    stored = (
        "retirement_date",
        "by_certificate",
        "balance",
        "interest",
        "amount",
        "bank_card",
    )
    return queue_withdrawal(context, caller, params, RETIREMENT, assess, stored)


def _check(
    context: CoreContext, account: Account, person: Person, params: Mapping[str, Any]
) -> dict[str, Any]:
    check_account(context, account, RETIREMENT)
    others = open_withdrawals(context, account)
    if others:
        raise Rejected(
            f"您有待审核的{TITLES[others[0].operation]}申请（申报编号 "
            f"{others[0].application_number}），办结后才能办理离退休提取并销户"
        )
    retires = retirement_date(context, person)
    sent = {
        str(item.get("kind"))
        for item in params.get("attachments") or []
        if isinstance(item, Mapping)
    }
    by_certificate = retires > context.today
    if by_certificate and CERTIFICATE not in sent:
        raise Rejected(
            f"您的法定退休日期为 {retires.isoformat()}，尚未达到；"
            "已办理退休的请上传退休证明",
            field=CERTIFICATE,
        )
    if account.balance <= 0:
        raise Rejected("账户余额为 0，无需提取")
    interest = interest_to_date(context, account, context.today)
    return {
        "retirement_date": retires,
        "by_certificate": by_certificate,
        "balance": account.balance,
        "interest": interest,
        "amount": account.balance + interest,
        "bank_card": bank_card(params),
        "closing_date": context.today,
    }


def approve(context: CoreContext, item: ReviewItem) -> None:
    """Book the interest to today, pay out the whole balance and close the account.

    The interest is computed again on the day of approval, so the amount paid may
    differ from the figure shown when the depositor applied.
    """
    account = account_of(context, item)
    lock_account(context, account)
    check_account(context, account, "")
    interest = interest_to_date(context, account, context.today)
    if interest:
        book(context, account, INTEREST, "销户结息", interest)
    book(context, account, WITHDRAWAL, TITLES[RETIREMENT], -account.balance)
    account.status = CLOSED_BY_WITHDRAWAL
    account.closed_on = context.today
