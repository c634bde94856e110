"""个人贷款进度查询 (person-loan-progress): steps of own loans and loan applications."""

from __future__ import annotations

import datetime as dt

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
from support import login_person

from connectors.embedded.models import LoanInstalment, ReviewItem

URL = "/person/person-loan-progress"


def queue(app: Flask, number: str, person_account: str, contract: str) -> None:
    with core_session(app) as session:
        session.add(
            ReviewItem(
                application_number=number,
                operation="loan.offset_sign",
                caller_hall="person",
                unit_account=None,
                person_account=person_account,
                payload={"contract": contract},
                status="pending",
                created_at=dt.datetime(2026, 11, 30, 9, 0),
            )
        )
        session.commit()


def test_steps_of_own_loan(app: Flask, client: FlaskClient) -> None:
    loan = demo_loan(app)
    with core_session(app) as session:
        rows = session.scalars(
            select(LoanInstalment)
            .where(LoanInstalment.loan_id == loan.id)
            .order_by(LoanInstalment.month)
        ).all()
    paid = [row for row in rows if row.paid_on is not None]
    upcoming = rows[len(paid)]
    login_person(client, DEMO_ACCOUNT)

    response = client.get(URL)
    assert response.status_code == 200
    steps = {row[2]: row for row in table_of(response)}
    assert steps["合同签订并放款"][0] == loan.start_date.isoformat()
    assert steps["合同签订并放款"][1] == loan.contract_number
    assert steps["按月还款"][0] == paid[-1].paid_on.isoformat()
    assert f"已还 {len(paid)}/{len(rows)} 期" in steps["按月还款"][4]
    assert steps["下期还款"][0] == upcoming.due_date.isoformat()
    assert steps["下期还款"][3] == "待还款"


def test_applications_of_own_only(app: Flask, client: FlaskClient) -> None:
    loan = demo_loan(app)
    other_account, other_contract = other_borrower(app)
    queue(app, "P20261130000001", DEMO_ACCOUNT, loan.contract_number)
    queue(app, "P20261130000002", other_account, other_contract)
    login_person(client, DEMO_ACCOUNT)

    rows = table_of(client.get(URL))
    applications = [row for row in rows if row[2] == "冲还贷签约申请"]
    assert len(applications) == 1
    assert applications[0][0] == "2026-11-30"
    assert applications[0][3] == "待审核"
    assert "P20261130000001" in applications[0][4]
    assert all(other_contract not in row for row in rows)


def test_params_do_not_widen(app: Flask, client: FlaskClient) -> None:
    other_account, other_contract = other_borrower(app)
    login_person(client, DEMO_ACCOUNT)
    plain = table_of(client.get(URL))
    args = {"run": "1", "person_account": other_account, "contract": other_contract}
    assert table_of(client.get(URL, query_string=args)) == plain
