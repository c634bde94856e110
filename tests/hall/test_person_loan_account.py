"""个人贷款账户查询 (person-loan-account): the loan card of one's own contracts."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from person_support import (
    DEMO_ACCOUNT,
    card_of,
    core_session,
    demo_loan,
    give_login,
    other_borrower,
)
from sqlalchemy import select
from support import errors_of, login_person, parse

from connectors.embedded.models import Account, Loan, LoanInstalment
from engine.money import format_yuan

URL = "/person/person-loan-account"


def test_card_of_own_loan(app: Flask, client: FlaskClient) -> None:
    loan = demo_loan(app)
    with core_session(app) as session:
        rows = session.scalars(
            select(LoanInstalment).where(LoanInstalment.loan_id == loan.id)
        ).all()
    paid = [row for row in rows if row.paid_on is not None]
    upcoming = min(
        (row for row in rows if row.paid_on is None), key=lambda row: row.month
    )
    login_person(client, DEMO_ACCOUNT)

    response = client.get(URL)
    assert response.status_code == 200
    card = card_of(response)
    assert card["contract_number"] == loan.contract_number
    assert card["amount"] == "300,000.00"
    assert card["term_months"] == "240"
    assert card["rate"] == f"{loan.rate.normalize():f}%"
    assert card["method_label"] == "等额本息"
    assert card["balance"] == format_yuan(loan.balance)
    # The balance is what the last paid instalment left.
    assert loan.balance == max(paid, key=lambda row: row.month).balance
    assert card["paid_months"] == str(len(paid))
    assert card["remaining_months"] == str(240 - len(paid))
    assert card["next_payment"] == format_yuan(upcoming.payment)
    assert card["next_due_date"] == upcoming.due_date.isoformat()
    assert card["overdue_months"] == "0"
    assert card["overdue_amount"] == "0.00"
    # The repayment card is masked.
    assert "****" in card["repayment_card"]


def test_contract_choices_are_own(app: Flask, client: FlaskClient) -> None:
    loan = demo_loan(app)
    _account, foreign = other_borrower(app)
    login_person(client, DEMO_ACCOUNT)
    options = [
        option["value"]
        for option in parse(client.get(URL)).select("#f-contract option")
        if option["value"]
    ]
    assert options == [loan.contract_number]
    assert foreign not in options


def test_other_contract_refused(app: Flask, client: FlaskClient) -> None:
    _account, foreign = other_borrower(app)
    login_person(client, DEMO_ACCOUNT)
    response = client.get(URL, query_string={"run": "1", "contract": foreign})
    assert response.status_code == 400
    assert parse(response).select_one("#result") is None
    assert any("借款合同编号" in message for message in errors_of(response))


def test_other_borrower_sees_own_loan(app: Flask, client: FlaskClient) -> None:
    account, contract = other_borrower(app)
    give_login(app, account)
    login_person(client, account)
    card = card_of(client.get(URL))
    assert card["contract_number"] == contract
    assert card["contract_number"] != demo_loan(app).contract_number


def test_depositor_without_loan(app: Flask, client: FlaskClient) -> None:
    with core_session(app) as session:
        borrowers = select(Loan.account_id)
        account = session.scalars(
            select(Account.person_account)
            .where(Account.id.not_in(borrowers), Account.status == "01")
            .order_by(Account.person_account)
        ).first()
    assert account is not None
    give_login(app, account)
    login_person(client, account)
    response = client.get(URL)
    assert "您名下没有公积金贷款" in errors_of(response)
