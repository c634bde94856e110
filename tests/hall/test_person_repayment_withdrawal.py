"""还贷提取 (person-repayment-withdrawal): limits by repaid instalments and approval."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from person_support import (
    DEMO_ACCOUNT,
    account_by_number,
    card_of,
    confirm,
    core_session,
    decide,
    demo_loan,
    give_login,
    other_borrower,
    renter,
)
from sqlalchemy import select
from support import csrf_token, errors_of, latest_sms_code, login_person

from connectors.embedded.models import LedgerEntry, LoanInstalment
from engine.storage.models import SmsCode

URL = "/person/person-repayment-withdrawal"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def repaid(app: Flask) -> Decimal:
    """Sum the payments of the demo loan's repaid instalments."""
    loan = demo_loan(app)
    with core_session(app) as session:
        payments = session.scalars(
            select(LoanInstalment.payment).where(
                LoanInstalment.loan_id == loan.id,
                LoanInstalment.paid_on.is_not(None),
            )
        ).all()
    return sum(payments, Decimal("0.00"))


def form(app: Flask, client: FlaskClient, **changes: Any) -> dict[str, Any]:
    """Fill the form for the demo loan, with a fresh SMS code."""
    # Codes sent earlier in the test are moved back in time, so a new one may be sent.
    with core_session(app) as session:
        for code in session.scalars(select(SmsCode)):
            code.created_at -= timedelta(minutes=2)
        session.commit()
    client.post(
        URL,
        data={"csrf_token": csrf_token(client.get(URL)), "_action": "send_code"},
    )
    data = {
        "loan_type": "hpf",
        "contract": demo_loan(app).contract_number,
        "amount": "1000",
        "_sms_code": latest_sms_code(app),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def post(client: FlaskClient, data: dict[str, Any], files: dict | None = None) -> Any:
    return client.post(
        URL,
        data={"csrf_token": csrf_token(client.get(URL)), **data, **(files or {})},
        content_type="multipart/form-data",
    )


@pytest.fixture
def borrower(client: FlaskClient) -> FlaskClient:
    login_person(client, DEMO_ACCOUNT)
    return client


def test_own_loan_limit_and_approval(app: Flask, borrower: FlaskClient) -> None:
    before = account_by_number(app, DEMO_ACCOUNT).balance
    total = repaid(app)
    review = post(borrower, form(app, borrower))
    assert review.status_code == 200, errors_of(review)
    card = card_of(review)
    assert card["repaid_total"] == f"{total:,.2f}"
    assert card["withdrawn_before"] == "0.00"
    assert card["limit"] == f"{min(total, before):,.2f}"

    number = confirm(borrower, URL, review)
    assert decide(app, number).status_code == 302
    after = account_by_number(app, DEMO_ACCOUNT)
    assert after.balance == before - Decimal("1000.00")
    with core_session(app) as session:
        entry = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.account_id == after.id)
            .order_by(LedgerEntry.id.desc())
        ).first()
    assert entry.summary == "还贷提取"
    assert entry.debit == Decimal("1000.00")

    # The approved amount counts against the same loan from now on.
    again = post(borrower, form(app, borrower))
    card = card_of(again)
    assert card["withdrawn_before"] == "1,000.00"
    assert card["limit"] == f"{min(total - 1000, after.balance):,.2f}"


def test_amount_above_limit(app: Flask, borrower: FlaskClient) -> None:
    balance = account_by_number(app, DEMO_ACCOUNT).balance
    total = repaid(app)
    limit = min(total, balance)
    why = "已还本息扣除已提取金额后的余额" if total <= balance else "账户可提取余额"
    response = post(borrower, form(app, borrower, amount=str(limit + Decimal("0.01"))))
    assert response.status_code == 400
    assert f"本次提取金额不能超过{why} {limit:,.2f} 元" in errors_of(response)


def test_commercial_loan_needs_records(app: Flask, borrower: FlaskClient) -> None:
    data = form(
        app,
        borrower,
        loan_type="commercial",
        contract=None,
        commercial_bank="中国建设银行",
        commercial_contract="JS2024001",
        repaid_total="5000",
    )
    response = post(borrower, data)
    assert "商业贷款请上传借款合同" in errors_of(response)


def test_commercial_loan_with_records(app: Flask, client: FlaskClient) -> None:
    account = renter(app).person_account
    give_login(app, account)
    login_person(client, account)
    data = form(
        app,
        client,
        loan_type="commercial",
        contract=None,
        commercial_bank="中国建设银行",
        commercial_contract="JS2024001",
        repaid_total="5000",
        amount="5000",
    )
    files = {
        "loan_contract": (io.BytesIO(PDF), "借款合同.pdf"),
        "repayment_record": (io.BytesIO(PDF), "还款记录.pdf"),
    }
    review = post(client, data, files)
    assert review.status_code == 200, errors_of(review)
    card = card_of(review)
    assert card["contract"] == "中国建设银行 JS2024001"
    assert card["limit"] == "5,000.00"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Nothing to withdraw.
        ({"amount": ""}, "请填写本次提取金额（元）"),
        ({"amount": "0"}, "本次提取金额（元）"),
        # A loan type the form never offered.
        ({"loan_type": "car"}, "贷款类型的选项无效，请从列表中选择"),
        # The SMS code is required and checked.
        ({"_sms_code": ""}, "请输入短信验证码（点击“获取验证码”）"),
        ({"_sms_code": "12345"}, "短信验证码应为6位数字"),
    ],
)
def test_repayment_withdrawal_rejects(
    app: Flask, borrower: FlaskClient, changes: dict[str, Any], expected: str
) -> None:
    response = post(borrower, form(app, borrower, **changes))
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages


def test_other_contract_refused(app: Flask, borrower: FlaskClient) -> None:
    _account, foreign = other_borrower(app)
    response = post(borrower, form(app, borrower, contract=foreign))
    assert response.status_code == 400
    assert "借款合同编号的选项无效，请从列表中选择" in errors_of(response)


def test_second_open_application_refused(app: Flask, borrower: FlaskClient) -> None:
    first = confirm(borrower, URL, post(borrower, form(app, borrower)))
    messages = errors_of(post(borrower, form(app, borrower)))
    assert any(first in message and "待审核" in message for message in messages)


def test_early_repayment_counts_as_repaid(app: Flask, borrower: FlaskClient) -> None:
    total = repaid(app)
    early_url = "/person/person-early-repayment"
    page = borrower.get(early_url)
    review = borrower.post(
        early_url,
        data={
            "csrf_token": csrf_token(page),
            "contract": demo_loan(app).contract_number,
            "mode": "partial",
            "amount": "50000",
            "option": "keep_term",
        },
    )
    assert review.status_code == 200, errors_of(review)
    assert decide(app, confirm(borrower, early_url, review)).status_code == 302

    balance = account_by_number(app, DEMO_ACCOUNT).balance
    card = card_of(post(borrower, form(app, borrower)))
    assert card["repaid_total"] == f"{total + 50000:,.2f}"
    assert card["limit"] == f"{min(total + 50000, balance):,.2f}"
