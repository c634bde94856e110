"""冲还贷签约 (person-offset-sign): once approved, the balance pays instalments."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from person_support import (
    DEMO_ACCOUNT,
    account_by_number,
    card_of,
    collect_instalments,
    confirm,
    decide,
    demo_loan,
    next_instalment,
    offset_entries,
    other_borrower,
)
from support import csrf_token, errors_of, login_person

URL = "/person/person-offset-sign"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def post(client: FlaskClient, data: dict[str, Any], attach: bool = True) -> Any:
    files = {"id_card": (io.BytesIO(PNG), "身份证.png")} if attach else {}
    return client.post(
        URL,
        data={"csrf_token": csrf_token(client.get(URL)), **data, **files},
        content_type="multipart/form-data",
    )


def form(app: Flask, **changes: Any) -> dict[str, Any]:
    data = {"contract": demo_loan(app).contract_number, "_agree": "on"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def borrower(client: FlaskClient) -> FlaskClient:
    login_person(client, DEMO_ACCOUNT)
    return client


def test_unsigned_loan_is_paid_by_bank(app: Flask) -> None:
    loan = demo_loan(app)
    account = account_by_number(app, DEMO_ACCOUNT)
    due = next_instalment(app, loan.id)
    assert collect_instalments(app, due.due_date) >= 1
    assert account_by_number(app, DEMO_ACCOUNT).balance == account.balance
    assert next_instalment(app, loan.id).month == due.month + 1


def test_signing_pays_from_balance(app: Flask, borrower: FlaskClient) -> None:
    loan = demo_loan(app)
    review = post(borrower, form(app))
    assert review.status_code == 200, errors_of(review)
    assert card_of(review)["paid_by"].startswith("公积金账户余额")
    number = confirm(borrower, URL, review)
    assert not demo_loan(app).offset_signed

    assert decide(app, number).status_code == 302
    assert demo_loan(app).offset_signed
    card = card_of(borrower.get("/person/person-loan-account"))
    assert card["offset_label"] == "已签约"

    before = account_by_number(app, DEMO_ACCOUNT)
    due = next_instalment(app, loan.id)
    collect_instalments(app, due.due_date)
    after = account_by_number(app, DEMO_ACCOUNT)
    assert after.balance == before.balance - due.payment
    entries = offset_entries(app, after.id)
    assert entries[-1].debit == due.payment
    assert entries[-1].balance == after.balance
    assert demo_loan(app).balance == due.balance


def test_signed_contract_not_offered(app: Flask, borrower: FlaskClient) -> None:
    decide(app, confirm(borrower, URL, post(borrower, form(app))))
    response = post(borrower, form(app))
    assert "借款合同编号的选项无效，请从列表中选择" in errors_of(response)


def test_pending_signing_blocks_another(app: Flask, borrower: FlaskClient) -> None:
    first = confirm(borrower, URL, post(borrower, form(app)))
    messages = errors_of(post(borrower, form(app)))
    assert any(first in message for message in messages), messages


@pytest.mark.parametrize(
    ("changes", "attach", "expected"),
    [
        ({"_agree": None}, True, "请阅读并同意《公积金冲还贷签约协议》"),
        ({"contract": ""}, True, "请选择借款合同编号"),
        ({}, False, "请上传签约人身份证扫描件"),
    ],
)
def test_offset_sign_rejects(
    app: Flask,
    borrower: FlaskClient,
    changes: dict[str, Any],
    attach: bool,
    expected: str,
) -> None:
    response = post(borrower, form(app, **changes), attach)
    assert response.status_code == 400
    assert expected in errors_of(response)


def test_other_contract_refused(app: Flask, borrower: FlaskClient) -> None:
    _account, foreign = other_borrower(app)
    response = post(borrower, form(app, contract=foreign))
    assert "借款合同编号的选项无效，请从列表中选择" in errors_of(response)
