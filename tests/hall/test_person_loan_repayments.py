"""公积金贷款还款明细查询 (person-loan-repayments): repaid instalments of own loans."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from person_support import (
    DEMO_ACCOUNT,
    core_session,
    demo_loan,
    other_borrower,
    table_of,
)
from sqlalchemy import select
from support import errors_of, login_person, parse

from connectors.embedded.models import LoanInstalment
from engine.money import format_yuan

URL = "/person/person-loan-repayments"


def paid_rows(app: Flask, loan_id: int) -> list[LoanInstalment]:
    with core_session(app) as session:
        return list(
            session.scalars(
                select(LoanInstalment)
                .where(LoanInstalment.loan_id == loan_id)
                .where(LoanInstalment.paid_on.is_not(None))
                .order_by(LoanInstalment.month.desc())
            )
        )


def test_repayments_of_whole_term(app: Flask, client: FlaskClient) -> None:
    loan = demo_loan(app)
    paid = paid_rows(app, loan.id)
    assert paid, "the demo loan has repaid instalments"
    first = paid[-1].paid_on.strftime("%Y-%m")
    last = paid[0].paid_on.strftime("%Y-%m")
    login_person(client, DEMO_ACCOUNT)
    args = {"run": "1", "month_from": first, "month_to": last}
    response = client.get(URL, query_string=args)
    assert response.status_code == 200
    expected = [
        [
            row.paid_on.isoformat(),
            "按月还款",
            str(row.month),
            format_yuan(row.payment),
            format_yuan(row.principal),
            format_yuan(row.interest),
            "0.00",
            format_yuan(row.balance),
        ]
        for row in paid
    ]
    assert table_of(response) == expected[:24]
    # Principal plus interest is each month's payment.
    for row in paid:
        assert row.principal + row.interest == row.payment


def test_range_outside_term_is_empty(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    args = {"run": "1", "month_from": "2001-01", "month_to": "2001-12"}
    response = client.get(URL, query_string=args)
    assert response.status_code == 200
    assert table_of(response) == []


def test_month_order_checked(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    args = {"run": "1", "month_from": "2026-06", "month_to": "2026-01"}
    response = client.get(URL, query_string=args)
    assert response.status_code == 400
    assert "还款月份的开始不能晚于结束" in errors_of(response)


def test_month_format_checked(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    args = {"run": "1", "month_from": "2026/01", "month_to": "2026-02"}
    response = client.get(URL, query_string=args)
    assert response.status_code == 400
    assert any("还款月份" in message for message in errors_of(response))


def test_other_contract_refused(app: Flask, client: FlaskClient) -> None:
    _account, foreign = other_borrower(app)
    login_person(client, DEMO_ACCOUNT)
    args = {"run": "1", "contract": foreign, "month_from": "2020-01"}
    args["month_to"] = "2026-12"
    response = client.get(URL, query_string=args)
    assert response.status_code == 400
    assert parse(response).select_one("#result") is None
