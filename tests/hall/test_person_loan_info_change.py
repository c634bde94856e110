"""贷款基本信息变更 (person-loan-info-change): new details show after approval."""

from __future__ import annotations

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
)
from support import csrf_token, errors_of, login_person, parse

from connectors.embedded.models import Loan, Person

URL = "/person/person-loan-info-change"
NEW_CARD = "6217000000000000004"


def post(client: FlaskClient, data: dict[str, Any]) -> Any:
    return client.post(URL, data={"csrf_token": csrf_token(client.get(URL)), **data})


def form(app: Flask, **changes: Any) -> dict[str, Any]:
    data = {
        "contract": demo_loan(app).contract_number,
        "mobile": "13700001234",
        "address": "韶关市武江区沿江路 8 号",
        "repayment_card": NEW_CARD,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def borrower(client: FlaskClient) -> FlaskClient:
    login_person(client, DEMO_ACCOUNT)
    return client


def test_current_details_shown(app: Flask, borrower: FlaskClient) -> None:
    loan = demo_loan(app)
    with core_session(app) as session:
        person = session.get_one(Person, loan.person_id)
    response = borrower.post(
        f"{URL}/lookup/loan",
        data={
            "csrf_token": csrf_token(borrower.get(URL)),
            "contract": loan.contract_number,
        },
    )
    text = response.get_data(as_text=True).replace("<template>", "")
    page = parse(response)
    assert page.find(id="f-current_mobile")["value"] == person.mobile
    assert page.find(id="f-current_card")["value"].endswith(loan.repayment_card[-4:])
    assert loan.repayment_card not in text


def test_change_shows_after_approval(app: Flask, borrower: FlaskClient) -> None:
    loan = demo_loan(app)
    review = post(borrower, form(app))
    assert review.status_code == 200, errors_of(review)
    card = card_of(review)
    assert card["mobile_after"] == "13700001234"
    assert card["card_after"] == "6217****0004"
    number = confirm(borrower, URL, review)

    assert decide(app, number).status_code == 302
    with core_session(app) as session:
        changed = session.get_one(Loan, loan.id)
        person = session.get_one(Person, loan.person_id)
    assert changed.repayment_card == NEW_CARD
    assert person.mobile == "13700001234"
    assert person.address == "韶关市武江区沿江路 8 号"
    shown = card_of(borrower.get("/person/person-loan-account"))
    assert shown["repayment_card"] == "6217****0004"
    assert shown["mobile"] == "137****1234"
    assert shown["address"] == "韶关市武江区沿江路 8 号"


def test_only_card_changes(app: Flask, borrower: FlaskClient) -> None:
    loan = demo_loan(app)
    with core_session(app) as session:
        mobile = session.get_one(Person, loan.person_id).mobile
    number = confirm(
        borrower, URL, post(borrower, form(app, mobile=None, address=None))
    )
    decide(app, number)
    with core_session(app) as session:
        assert session.get_one(Person, loan.person_id).mobile == mobile
        assert session.get_one(Loan, loan.id).repayment_card == NEW_CARD


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Nothing new was entered.
        (
            {"mobile": None, "address": None, "repayment_card": None},
            "请至少填写一项与现有信息不同的新信息",
        ),
        ({"mobile": "12345"}, "新联系手机"),
        # The card's Luhn check digit is wrong.
        ({"repayment_card": "6217000000000000001"}, "新还款银行卡号"),
        ({"contract": ""}, "请选择借款合同编号"),
    ],
)
def test_loan_info_change_rejects(
    app: Flask, borrower: FlaskClient, changes: dict[str, Any], expected: str
) -> None:
    response = post(borrower, form(app, **changes))
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages


def test_other_contract_refused(app: Flask, borrower: FlaskClient) -> None:
    _account, foreign = other_borrower(app)
    response = post(borrower, form(app, contract=foreign))
    assert "借款合同编号的选项无效，请从列表中选择" in errors_of(response)


def test_pending_change_blocks_another(app: Flask, borrower: FlaskClient) -> None:
    first = confirm(borrower, URL, post(borrower, form(app)))
    messages = errors_of(post(borrower, form(app, mobile="13700005678")))
    assert any(first in message for message in messages), messages
