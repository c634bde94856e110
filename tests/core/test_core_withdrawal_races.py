"""Withdrawals submitted at the same moment, on SQLite and on PostgreSQL.

Two withdrawals of one account never claim more than its balance, and a depositor
never has two open applications of one withdrawal kind, however the requests
interleave.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from races import accepted, at_once, pending, retried_during_original
from sqlalchemy import select

from connectors.base import Caller, Rejected
from connectors.embedded import EmbeddedCore
from connectors.embedded.models import Account, Loan

CARD = "6217000000000000004"


def tenant(core: EmbeddedCore) -> Account:
    """Return an active account without a loan, deposited up to last month."""
    with core.session_factory() as session:
        return session.scalars(
            select(Account)
            .where(
                Account.status == "01",
                Account.person_id.not_in(select(Loan.person_id)),
                Account.last_paid_month == "2026-11",
                Account.balance > Decimal("1000"),
            )
            .order_by(Account.person_account)
        ).first()


def rent(number: str, amount: Decimal, rent: Decimal) -> tuple[str, dict[str, Any]]:
    return "withdrawal.rent", {
        "application_number": number,
        "housing_type": "public",
        "period": {"from": "2026-12", "to": "2027-11"},
        "monthly_rent": rent,
        "amount": amount,
        "bank_card": CARD,
    }


def repayment(number: str, amount: Decimal, repaid: Decimal) -> tuple[str, dict]:
    return "withdrawal.repayment", {
        "application_number": number,
        "loan_type": "commercial",
        "commercial_bank": "中国银行",
        "commercial_contract": "ZH2025001",
        "repaid_total": repaid,
        "amount": amount,
        "attachments": [{"kind": "loan_contract"}, {"kind": "repayment_record"}],
    }


def test_two_kinds_never_exceed_balance(race_core: EmbeddedCore) -> None:
    account = tenant(race_core)
    caller = Caller("person", person_account=account.person_account)
    # Each alone fits; together they would take out 140% of the balance.
    amount = (account.balance * Decimal("0.7")).quantize(Decimal("0.01"))
    results = at_once(
        race_core,
        caller,
        [
            rent("P20261204900001", amount, account.balance),
            repayment("P20261204900002", amount, account.balance),
        ],
    )
    assert len(accepted(results)) == 1
    refused = [result for result in results if isinstance(result, Rejected)]
    assert "账户可提取余额" in refused[0].message
    claimed = sum(
        Decimal(item.payload["amount"])
        for item in pending(race_core, account.person_account)
    )
    assert claimed == amount

    number = pending(race_core, account.person_account)[0].application_number
    race_core.approve(number, "reviewer")
    with race_core.session_factory() as session:
        balance = session.get_one(Account, account.id).balance
    assert balance == account.balance - amount


def test_one_open_application_per_kind(race_core: EmbeddedCore) -> None:
    account = tenant(race_core)
    caller = Caller("person", person_account=account.person_account)
    small = Decimal("100.00")
    results = at_once(
        race_core,
        caller,
        [
            rent("P20261204900011", small, small),
            rent("P20261204900012", small, small),
            rent("P20261204900013", small, small),
        ],
    )
    assert len(accepted(results)) == 1
    for result in results:
        if isinstance(result, Rejected):
            assert "待审核的租房提取申请" in result.message
    assert len(pending(race_core, account.person_account)) == 1


def test_retry_during_original_is_accepted(
    race_core: EmbeddedCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A delivery retried while the original call still runs must get the original's
    # result, because a rejection would return an application the core has queued.
    account = tenant(race_core)
    caller = Caller("person", person_account=account.person_account)
    small = Decimal("100.00")
    call = rent("P20261204900031", small, small)
    results = retried_during_original(race_core, caller, call, monkeypatch)
    for result in results:
        assert result == {"status": "pending"}
    assert len(pending(race_core, account.person_account)) == 1


def test_approval_checks_balance_again(race_core: EmbeddedCore) -> None:
    account = tenant(race_core)
    caller = Caller("person", person_account=account.person_account)
    whole = account.balance
    call, params = rent("P20261204900021", whole, whole)
    race_core.call(call, caller, params)
    # The balance falls before the review, as if a deduction came in between.
    with race_core.session_factory() as session, session.begin():
        session.get_one(Account, account.id).balance -= Decimal("0.01")
    with pytest.raises(Rejected, match="不足"):
        race_core.approve("P20261204900021", "reviewer")
    with race_core.session_factory() as session:
        assert session.get_one(Account, account.id).balance == whole - Decimal("0.01")
