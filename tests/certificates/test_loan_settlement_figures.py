"""贷款结清证明: the amounts and the settlement date for every way a loan ends.

A loan ends with its last scheduled instalment, paid by the bank or by the balance
offset, or with an early full repayment approved through the hall. In each case the
certificate prints the principal repaid equal to the loan amount, the interest repaid
and the day the loan was settled.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from person_support import (
    DEMO_ACCOUNT,
    collect_instalments,
    confirm,
    core_session,
    decide,
    demo_loan,
    give_login,
    table_of,
)
from sqlalchemy import delete, select, update
from support import csrf_token, errors_of, login_person, parse

from connectors.base import Caller, Rejected
from connectors.embedded.certificates import RECORDS_INCOMPLETE
from connectors.embedded.models import (
    Account,
    Loan,
    LoanInstalment,
    LoanRepayment,
)
from engine import clock
from engine.money import format_yuan
from tests.certificates.conftest import squeeze

EARLY_URL = "/person/person-early-repayment"
PRINT_URL = "/person/print/person-loan-settlement-certificate"
REPAYMENTS_URL = "/person/person-loan-repayments"
# The second demo login, whose one-year loan ended with its last instalment.
SETTLED_ACCOUNT = "020100000120"
ZERO = Decimal("0.00")
CODE = re.compile(r"验证码：([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})")


def chinese(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def print_settlement(client: FlaskClient, contract: str) -> tuple[int, bytes]:
    page = client.get(PRINT_URL)
    response = client.post(
        PRINT_URL,
        data={"csrf_token": csrf_token(page), "contract_number": contract},
    )
    return response.status_code, response.data


def paid_instalments(app: Flask, loan_id: int) -> list[LoanInstalment]:
    with core_session(app) as session:
        return list(
            session.scalars(
                select(LoanInstalment)
                .where(
                    LoanInstalment.loan_id == loan_id,
                    LoanInstalment.paid_on.is_not(None),
                )
                .order_by(LoanInstalment.month)
            )
        )


def repay_in_full(app: Flask, client: FlaskClient, contract: str) -> str:
    """Apply for an early full repayment and have the reviewer approve it."""
    page = client.get(EARLY_URL)
    review = client.post(
        EARLY_URL,
        data={"csrf_token": csrf_token(page), "contract": contract, "mode": "full"},
    )
    assert review.status_code == 200, errors_of(review)
    number = confirm(client, EARLY_URL, review)
    assert decide(app, number).status_code == 302
    return number


def history(client: FlaskClient, loan: Loan) -> list[list[str]]:
    """Return the rows of the repayment history from the loan's start to today."""
    args = {
        "run": "1",
        "contract": loan.contract_number,
        "month_from": loan.start_date.strftime("%Y-%m"),
        "month_to": clock.business_date().strftime("%Y-%m"),
    }
    return table_of(client.get(REPAYMENTS_URL, query_string=args))


def assert_settled(
    text: str, amount: Decimal, interest: Decimal, settled_on: dt.date, how: str
) -> None:
    assert f"贷款本金人民币{format_yuan(amount)}元" in text
    assert f"累计偿还本金{format_yuan(amount)}元" in text
    assert f"累计偿还利息{format_yuan(interest)}元" in text
    assert f"结清日期{chinese(settled_on)}" in text
    assert f"该笔贷款已于{chinese(settled_on)}全部结清" in text
    assert f"结清方式{how}" in text
    assert "贷款余额0.00元" in text


@pytest.fixture
def near_midnight(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    """Pin the clock to 00:30 today in China, still yesterday in UTC."""
    today = clock.business_date()
    instant = dt.datetime.combine(
        today, dt.time(0, 30), tzinfo=clock.FUND_CENTRE_ZONE
    ).astimezone(dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: instant)
    return today


def test_regular_settlement(app: Flask, client: FlaskClient, text_of) -> None:
    login_person(client, SETTLED_ACCOUNT)
    with core_session(app) as session:
        loan = session.scalars(
            select(Loan)
            .join(Account, Account.id == Loan.account_id)
            .where(Account.person_account == SETTLED_ACCOUNT)
        ).one()
    paid = paid_instalments(app, loan.id)
    assert len(paid) == loan.term_months

    status, content = print_settlement(client, loan.contract_number)
    assert status == 200
    interest = sum((row.interest for row in paid), ZERO)
    assert interest > 0
    text = squeeze(text_of(content))
    assert_settled(text, loan.amount, interest, paid[-1].paid_on, "按期还款结清")


def test_early_full_repayment(
    app: Flask, client: FlaskClient, text_of, near_midnight: dt.date
) -> None:
    loan = demo_loan(app)
    paid = paid_instalments(app, loan.id)
    assert paid, "the demo loan has repaid instalments"
    login_person(client, DEMO_ACCOUNT)
    number = repay_in_full(app, client, loan.contract_number)

    with core_session(app) as session:
        records = session.scalars(
            select(LoanRepayment).where(LoanRepayment.loan_id == loan.id)
        ).all()
    assert len(records) == 1
    record = records[0]
    assert record.repaid_on == near_midnight
    assert record.kind == "full"
    assert record.principal == loan.balance
    assert record.interest == ZERO
    assert record.payment == loan.balance
    assert record.balance == ZERO
    assert record.application_number == number

    status, content = print_settlement(client, loan.contract_number)
    assert status == 200
    interest = sum((row.interest for row in paid), ZERO)
    text = squeeze(text_of(content))
    assert_settled(text, Decimal("300000.00"), interest, near_midnight, "提前还款结清")

    # The verification page shows the same settlement as the paper.
    code = CODE.search(text)
    assert code is not None
    page = app.test_client().get(f"/verify/{code.group(1)}")
    assert page.status_code == 200
    facts = parse(page).find(id="verify-facts")
    assert facts is not None
    shown = facts.get_text(" ", strip=True)
    assert f"结清日期 {chinese(near_midnight)}" in shown
    assert "结清方式 提前还款结清" in shown
    assert "累计偿还本金（元） 300,000.00" in shown

    rows = history(client, loan)
    lump = [row for row in rows if row[1] == "提前还款"]
    assert lump == [
        [
            near_midnight.isoformat(),
            "提前还款",
            "",
            format_yuan(loan.balance),
            format_yuan(loan.balance),
            "0.00",
            "0.00",
            "0.00",
        ]
    ]
    assert len(rows) == min(len(paid) + 1, 24)


def test_full_repayment_before_first_instalment(
    app: Flask, client: FlaskClient, text_of, near_midnight: dt.date
) -> None:
    loan = demo_loan(app)
    # A loan granted lately: no instalment has fallen due yet.
    with core_session(app) as session:
        session.execute(
            update(LoanInstalment)
            .where(LoanInstalment.loan_id == loan.id)
            .values(paid_on=None)
        )
        session.execute(
            update(Loan).where(Loan.id == loan.id).values(balance=loan.amount)
        )
        session.commit()
    login_person(client, DEMO_ACCOUNT)
    repay_in_full(app, client, loan.contract_number)

    status, content = print_settlement(client, loan.contract_number)
    assert status == 200
    text = squeeze(text_of(content))
    assert_settled(text, loan.amount, ZERO, near_midnight, "提前还款结清")
    assert history(client, loan) == [
        [
            near_midnight.isoformat(),
            "提前还款",
            "",
            "300,000.00",
            "300,000.00",
            "0.00",
            "0.00",
            "0.00",
        ]
    ]


def test_partial_then_full_repayment(app: Flask, client: FlaskClient, text_of) -> None:
    loan = demo_loan(app)
    paid = paid_instalments(app, loan.id)
    login_person(client, DEMO_ACCOUNT)
    page = client.get(EARLY_URL)
    review = client.post(
        EARLY_URL,
        data={
            "csrf_token": csrf_token(page),
            "contract": loan.contract_number,
            "mode": "partial",
            "amount": "50000",
            "option": "keep_term",
        },
    )
    assert review.status_code == 200, errors_of(review)
    assert decide(app, confirm(client, EARLY_URL, review)).status_code == 302
    repay_in_full(app, client, loan.contract_number)

    status, content = print_settlement(client, loan.contract_number)
    assert status == 200
    today = clock.business_date()
    interest = sum((row.interest for row in paid), ZERO)
    text = squeeze(text_of(content))
    assert_settled(text, loan.amount, interest, today, "提前还款结清")
    lump = [row for row in history(client, loan) if row[1] == "提前还款"]
    # Both repayments fall on today, so the page may list them in either order.
    assert sorted(row[3] for row in lump) == sorted(
        ["50,000.00", format_yuan(loan.balance - 50000)]
    )


def test_offset_loan_settled_by_collection(
    app: Flask, client: FlaskClient, text_of
) -> None:
    with core_session(app) as session:
        loan, person_account = session.execute(
            select(Loan, Account.person_account)
            .join(Account, Account.id == Loan.account_id)
            .where(Loan.offset_signed.is_(True), Loan.status == "01")
            .order_by(Loan.id)
        ).first()
        last_due = session.scalar(
            select(LoanInstalment.due_date)
            .where(LoanInstalment.loan_id == loan.id)
            .order_by(LoanInstalment.month.desc())
        )
    # Collect every instalment up to the last one. The balance offset pays while the
    # balance suffices, and the bank pays the rest.
    assert collect_instalments(app, last_due) > 0
    with core_session(app) as session:
        settled = session.get_one(Loan, loan.id)
    assert settled.status == "02"
    assert settled.balance == ZERO
    assert settled.offset_signed is False

    give_login(app, person_account)
    login_person(client, person_account)
    status, content = print_settlement(client, loan.contract_number)
    assert status == 200
    paid = paid_instalments(app, loan.id)
    assert sum((row.principal for row in paid), ZERO) == loan.amount
    interest = sum((row.interest for row in paid), ZERO)
    text = squeeze(text_of(content))
    assert_settled(text, loan.amount, interest, last_due, "按期还款结清")


def test_settled_loan_without_records_rejected(app: Flask, client: FlaskClient) -> None:
    # The loan is marked settled, its unpaid instalments are gone and no repayment of
    # the rest is on record. The core cannot certify how or when it was settled.
    loan = demo_loan(app)
    with core_session(app) as session:
        session.execute(
            delete(LoanInstalment).where(
                LoanInstalment.loan_id == loan.id, LoanInstalment.paid_on.is_(None)
            )
        )
        session.execute(
            update(Loan).where(Loan.id == loan.id).values(balance=ZERO, status="02")
        )
        session.commit()
    login_person(client, DEMO_ACCOUNT)
    status, _content = print_settlement(client, loan.contract_number)
    assert status == 400

    router = app.extensions["hall"].router
    caller = Caller("person", person_account=DEMO_ACCOUNT)
    params = {"contract_number": loan.contract_number}
    with pytest.raises(Rejected) as raised:
        router.call("certificate.loan_settlement", caller, params)
    assert raised.value.message == RECORDS_INCOMPLETE
