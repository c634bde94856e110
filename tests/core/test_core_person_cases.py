"""Own worked cases: equal principal, second-home rates, early repayment of one."""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, localcontext
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from connectors.base import Caller
from connectors.embedded import EmbeddedCore, finance
from connectors.embedded.models import Account, Loan, LoanInstalment
from engine.policy import Policy


def test_equal_principal_twelve_months() -> None:
    # 120,000 over 12 months at 2.10%: 10,000 principal a month, and month k pays
    # interest on (13 - k) x 10,000 at 0.175% a month, that is (13 - k) x 17.50.
    schedule = finance.equal_principal_schedule(D("120000"), D("2.10"), 12)
    assert [row.principal for row in schedule] == [D("10000.00")] * 12
    assert [row.interest for row in schedule] == [
        D("17.50") * (13 - month) for month in range(1, 13)
    ]
    assert schedule[0].payment == D("10210.00")
    assert schedule[-1].payment == D("10017.50")
    # 17.50 x (12 + 11 + ... + 1) = 17.50 x 78.
    assert finance.total_interest(schedule) == D("1365.00")
    assert schedule[-1].balance == D("0.00")


@pytest.mark.parametrize(
    ("months", "rate"),
    [
        (60, D("2.525")),  # second home, five years or less
        (61, D("3.075")),  # second home, over five years
        (360, D("3.075")),
    ],
)
def test_second_home_rates(policy: Policy, months: int, rate: D) -> None:
    assert finance.loan_rate(policy, "second", months, dt.date(2026, 12, 4)) == rate


def test_second_home_payment() -> None:
    # 300,000 over 20 years at 3.075%: the annuity formula at 50 digits gives
    # 1,675.0787..., which rounds to 1,675.08.
    with localcontext() as context:
        context.prec = 50
        r = D("3.075") / 100 / 12
        growth = (1 + r) ** 240
        exact = D(300000) * r * growth / (growth - 1)
    expected = exact.quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert expected == D("1675.08")
    assert finance.instalment_payment(D("300000"), D("3.075"), 240) == expected


def test_equal_principal_early_repayment(core: EmbeddedCore) -> None:
    with core.session_factory() as session:
        loan = session.scalars(
            select(Loan)
            .where(Loan.method == finance.EQUAL_PRINCIPAL, Loan.status == "01")
            .order_by(Loan.id)
        ).first()
        assert loan is not None, "the demo data has no equal-principal loan"
        account = session.get_one(Account, loan.account_id)
        unpaid = session.scalars(
            select(LoanInstalment).where(
                LoanInstalment.loan_id == loan.id, LoanInstalment.paid_on.is_(None)
            )
        ).all()
    caller = Caller("person", person_account=account.person_account)
    months = len(unpaid)
    rest = loan.balance - D("20000")
    monthly_rate = loan.rate / 100 / 12

    kept = core.call(
        "loan.early_repayment_trial",
        caller,
        {
            "contract": loan.contract_number,
            "mode": "partial",
            "amount": "20000",
            "option": "keep_term",
        },
    )
    assert kept["new_months"] == months
    first = kept["schedule"][0]
    share = rest / months
    assert first["principal"] == share.quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert first["interest"] == (rest * monthly_rate).quantize(
        D("0.01"), rounding=ROUND_HALF_UP
    )
    assert sum(row["principal"] for row in kept["schedule"]) == rest

    shorter = core.call(
        "loan.early_repayment_trial",
        caller,
        {
            "contract": loan.contract_number,
            "mode": "partial",
            "amount": "20000",
            "option": "keep_payment",
        },
    )
    # The monthly principal stays at balance / months, so fewer months remain.
    old_share = loan.balance / months
    assert shorter["new_months"] == math.ceil(rest / old_share)
    assert shorter["new_months"] < months
    assert sum(row["principal"] for row in shorter["schedule"]) == rest
