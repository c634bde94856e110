"""Loan applications submitted at the same moment, on SQLite and on PostgreSQL.

Early repayment, loan information change and balance offset signing or revocation
allow one open application per contract. A retried delivery gets the first result,
and two applications with different numbers never both stay open.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from races import accepted, at_once, pending, retried_during_original
from sqlalchemy import select

from connectors.base import Caller, Rejected
from connectors.embedded import EmbeddedCore
from connectors.embedded.models import Account, Loan

# Builds an operation name and its params from an application number and a contract.
CallMaker = Callable[[str, str], tuple[str, dict[str, Any]]]


def borrower(core: EmbeddedCore, offset_signed: bool) -> tuple[str, str]:
    """Return the account number and contract of a repaying loan of the demo data."""
    with core.session_factory() as session:
        row = session.execute(
            select(Account.person_account, Loan.contract_number)
            .join(Loan, Loan.account_id == Account.id)
            .where(
                Account.status == "01",
                Loan.status == "01",
                Loan.offset_signed.is_(offset_signed),
            )
            .order_by(Loan.id)
        ).first()
    assert row is not None
    return row[0], row[1]


def early_repayment(number: str, contract: str) -> tuple[str, dict[str, Any]]:
    return "loan.early_repayment", {
        "application_number": number,
        "contract": contract,
        "mode": "partial",
        "amount": Decimal("10000.00"),
        "option": "keep_term",
    }


def loan_change(number: str, contract: str) -> tuple[str, dict[str, Any]]:
    return "loan.change", {
        "application_number": number,
        "contract": contract,
        "mobile": "13700001234",
    }


def offset_sign(number: str, contract: str) -> tuple[str, dict[str, Any]]:
    return "loan.offset_sign", {"application_number": number, "contract": contract}


def offset_revoke(number: str, contract: str) -> tuple[str, dict[str, Any]]:
    return "loan.offset_revoke", {"application_number": number, "contract": contract}


# Each submit with whether its loan must have the balance offset signed, and the
# message that rejects a second open application of the contract.
CASES = [
    pytest.param(early_repayment, False, "待审核的提前还款申请", id="early_repayment"),
    pytest.param(loan_change, False, "待审核的信息变更申请", id="loan_change"),
    pytest.param(offset_sign, False, "待审核的冲还贷签约申请", id="offset_sign"),
    pytest.param(offset_revoke, True, "待审核的冲还贷撤销申请", id="offset_revoke"),
]


@pytest.mark.parametrize(("submit", "offset_signed", "open_message"), CASES)
def test_retry_during_original_is_accepted(
    race_core: EmbeddedCore,
    monkeypatch: pytest.MonkeyPatch,
    submit: CallMaker,
    offset_signed: bool,
    open_message: str,
) -> None:
    # A delivery retried while the original call still runs must get the original's
    # result, because a rejection would return an application the core has queued.
    person_account, contract = borrower(race_core, offset_signed)
    caller = Caller("person", person_account=person_account)
    call = submit("P20261204900041", contract)
    results = retried_during_original(race_core, caller, call, monkeypatch)
    for result in results:
        assert result == {"status": "pending"}
    assert len(pending(race_core, person_account)) == 1


@pytest.mark.parametrize(("submit", "offset_signed", "open_message"), CASES)
def test_one_open_application_per_contract(
    race_core: EmbeddedCore, submit: CallMaker, offset_signed: bool, open_message: str
) -> None:
    person_account, contract = borrower(race_core, offset_signed)
    caller = Caller("person", person_account=person_account)
    results = at_once(
        race_core,
        caller,
        [
            submit("P20261204900051", contract),
            submit("P20261204900052", contract),
            submit("P20261204900053", contract),
        ],
    )
    assert len(accepted(results)) == 1
    for result in results:
        if isinstance(result, Rejected):
            assert open_message in result.message
    assert len(pending(race_core, person_account)) == 1
