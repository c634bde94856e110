"""提前还款 (person-early-repayment): the new schedule before submitting, and approval.

The demo depositor's loan is the L1 example: 300,000 over 20 years at 2.60%, equal
instalments. The expected figures are worked out here from the formulas, month by
month, not by the code under test.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from person_support import (
    DEMO_ACCOUNT,
    card_of,
    confirm,
    core_session,
    decide,
    demo_loan,
    other_borrower,
    table_of,
)
from sqlalchemy import select
from support import csrf_token, errors_of, login_person

from connectors.embedded.models import Loan, LoanInstalment
from engine import clock
from engine.clock import business_date

URL = "/person/person-early-repayment"
FEN = Decimal("0.01")
RATE = Decimal("0.026") / 12


def fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def annuity(principal: Decimal, months: int) -> Decimal:
    with localcontext() as context:
        context.prec = 50
        growth = (1 + RATE) ** months
        return fen(principal * RATE * growth / (growth - 1))


def balance_after(months_paid: int) -> Decimal:
    """Run L1 month by month: interest on the balance rounded to fen each month."""
    payment = annuity(Decimal(300000), 240)
    balance = Decimal(300000)
    for _month in range(months_paid):
        balance -= payment - fen(balance * RATE)
    return balance


def paid_months(app: Flask) -> int:
    loan = demo_loan(app)
    with core_session(app) as session:
        return len(
            session.scalars(
                select(LoanInstalment.id).where(
                    LoanInstalment.loan_id == loan.id,
                    LoanInstalment.paid_on.is_not(None),
                )
            ).all()
        )


def form(app: Flask, **changes: Any) -> dict[str, Any]:
    data = {
        "contract": demo_loan(app).contract_number,
        "mode": "partial",
        "amount": "50000",
        "option": "keep_term",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def post(client: FlaskClient, data: dict[str, Any]) -> Any:
    return client.post(URL, data={"csrf_token": csrf_token(client.get(URL)), **data})


@pytest.fixture
def borrower(client: FlaskClient) -> FlaskClient:
    login_person(client, DEMO_ACCOUNT)
    return client


def test_keep_term_schedule_and_approval(app: Flask, borrower: FlaskClient) -> None:
    paid = paid_months(app)
    before = balance_after(paid)
    assert demo_loan(app).balance == before
    remaining = 240 - paid
    new_payment = annuity(before - 50000, remaining)

    review = post(borrower, form(app))
    assert review.status_code == 200, errors_of(review)
    card = card_of(review)
    assert card["balance"] == f"{before:,.2f}"
    assert card["balance_after"] == f"{before - 50000:,.2f}"
    assert card["new_payment"] == f"{new_payment:,.2f}"
    assert card["new_months"] == str(remaining)
    rows = table_of(review)
    assert len(rows) == remaining
    assert rows[0][0] == str(paid + 1)
    assert rows[0][2] == f"{new_payment:,.2f}"
    interest = fen((before - 50000) * RATE)
    assert rows[0][4] == f"{interest:,.2f}"
    assert rows[-1][5] == "0.00"

    number = confirm(borrower, URL, review)
    assert decide(app, number).status_code == 302
    loan = demo_loan(app)
    assert loan.balance == before - 50000
    with core_session(app) as session:
        unpaid = session.scalars(
            select(LoanInstalment)
            .where(LoanInstalment.loan_id == loan.id, LoanInstalment.paid_on.is_(None))
            .order_by(LoanInstalment.month)
        ).all()
    assert len(unpaid) == remaining
    assert unpaid[0].month == paid + 1
    assert unpaid[0].payment == new_payment
    assert card_of(borrower.get("/person/person-loan-account"))["next_payment"] == (
        f"{new_payment:,.2f}"
    )
    history = table_of(
        borrower.get(
            "/person/person-loan-repayments",
            query_string={
                "run": "1",
                "month_from": loan.start_date.strftime("%Y-%m"),
                "month_to": business_date().strftime("%Y-%m"),
            },
        )
    )
    early = [row for row in history if row[1] == "提前还款"]
    assert len(early) == 1
    assert early[0][0] == business_date().isoformat()
    assert early[0][3] == "50,000.00"
    assert early[0][4] == "50,000.00"
    assert early[0][5] == "0.00"
    assert early[0][7] == f"{before - 50000:,.2f}"


def test_keep_payment_shortens_term(app: Flask, borrower: FlaskClient) -> None:
    paid = paid_months(app)
    payment = annuity(Decimal(300000), 240)
    # Keep paying the same instalment until the rest is paid off.
    balance = balance_after(paid) - 50000
    months = 0
    while True:
        months += 1
        interest = fen(balance * RATE)
        if payment - interest >= balance:
            last = balance + interest
            break
        balance -= payment - interest

    review = post(borrower, form(app, option="keep_payment"))
    assert review.status_code == 200, errors_of(review)
    card = card_of(review)
    assert card["new_payment"] == f"{payment:,.2f}"
    assert card["new_months"] == str(months)
    assert card["last_payment"] == f"{last:,.2f}"
    assert months < 240 - paid
    assert table_of(review)[-1][2] == f"{last:,.2f}"


def test_full_repayment_settles(
    app: Flask, borrower: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 00:30 today in China is still yesterday in UTC, so the repayment must take the
    # business date.
    today = business_date()
    instant = dt.datetime.combine(
        today, dt.time(0, 30), tzinfo=clock.FUND_CENTRE_ZONE
    ).astimezone(dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: instant)
    before = demo_loan(app).balance
    paid = paid_months(app)
    review = post(borrower, form(app, mode="full", amount=None, option=None))
    assert review.status_code == 200, errors_of(review)
    card = card_of(review)
    assert card["amount"] == f"{before:,.2f}"
    assert card["balance_after"] == "0.00"
    assert card["new_months"] == "0"

    decide(app, confirm(borrower, URL, review))
    with core_session(app) as session:
        loan = session.get_one(Loan, demo_loan(app).id)
        unpaid = session.scalars(
            select(LoanInstalment.id).where(
                LoanInstalment.loan_id == loan.id, LoanInstalment.paid_on.is_(None)
            )
        ).all()
    assert loan.balance == Decimal("0.00")
    assert loan.status == "02"
    assert unpaid == []

    card = card_of(borrower.get("/person/person-loan-account"))
    assert card["status_label"] == "已结清"
    assert card["balance"] == "0.00"
    assert card["paid_months"] == str(paid)
    assert card["remaining_months"] == "0"
    assert card["end_date"] == today.isoformat()

    history = table_of(
        borrower.get(
            "/person/person-loan-repayments",
            query_string={
                "run": "1",
                "month_from": loan.start_date.strftime("%Y-%m"),
                "month_to": today.strftime("%Y-%m"),
            },
        )
    )
    early = [row for row in history if row[1] == "提前还款"]
    assert early == [
        [
            today.isoformat(),
            "提前还款",
            "",
            f"{before:,.2f}",
            f"{before:,.2f}",
            "0.00",
            "0.00",
            "0.00",
        ]
    ]

    steps = table_of(borrower.get("/person/person-loan-progress"))
    settled = [row for row in steps if row[2] == "贷款结清"]
    assert len(settled) == 1
    assert settled[0][0] == today.isoformat()
    assert settled[0][3] == "已完成"
    applications = [row for row in steps if row[2] == "提前还款申请"]
    assert len(applications) == 1
    assert applications[0][0] == today.isoformat()
    assert applications[0][3] == "审核通过"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Below the policy minimum of a partial repayment.
        ({"amount": "9999.99"}, "提前还款金额（元）"),
        ({"amount": ""}, "请填写提前还款金额（元）"),
        # A partial repayment must leave something to repay.
        ({"amount": "900000"}, "部分提前还款金额应少于贷款余额"),
        ({"mode": "some"}, "还款方式的选项无效，请从列表中选择"),
        ({"option": "skip"}, "还款后的选项无效，请从列表中选择"),
        ({"contract": ""}, "请选择借款合同编号"),
    ],
)
def test_early_repayment_rejects(
    app: Flask, borrower: FlaskClient, changes: dict[str, Any], expected: str
) -> None:
    response = post(borrower, form(app, **changes))
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages


def test_other_contract_refused(app: Flask, borrower: FlaskClient) -> None:
    _account, foreign = other_borrower(app)
    response = post(borrower, form(app, contract=foreign))
    assert response.status_code == 400
    assert "借款合同编号的选项无效，请从列表中选择" in errors_of(response)


def test_second_open_application_refused(app: Flask, borrower: FlaskClient) -> None:
    first = confirm(borrower, URL, post(borrower, form(app)))
    messages = errors_of(post(borrower, form(app)))
    assert any(first in message for message in messages), messages
