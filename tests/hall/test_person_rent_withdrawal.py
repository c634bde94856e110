"""租房提取 (person-rent-withdrawal): limits, checks and the approved debit."""

from __future__ import annotations

import io
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
    give_login,
    renter,
)
from sqlalchemy import select
from support import csrf_token, errors_of, login_person, parse, parse_fragment

from connectors.embedded.models import LedgerEntry, ReviewItem
from engine.clock import business_date
from engine.storage.models import Application

URL = "/person/person-rent-withdrawal"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CARD = "6217000000000000004"
# The demo default limit for commercial rentals, a month.
COMMERCIAL_LIMIT = Decimal("1500")


def month(offset: int) -> str:
    today = business_date()
    index = today.year * 12 + today.month - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def form(**changes: Any) -> dict[str, Any]:
    data = {
        "housing_type": "commercial",
        "period_from": month(0),
        "period_to": month(5),
        "monthly_rent": "2000",
        "amount": "9000",
        "bank_card": CARD,
        "_agree": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def post(client: FlaskClient, data: dict[str, Any], attach: bool = True) -> Any:
    files = {"rental_contract": (io.BytesIO(PDF), "租赁合同.pdf")} if attach else {}
    return client.post(
        URL,
        data={"csrf_token": csrf_token(client.get(URL)), **data, **files},
        content_type="multipart/form-data",
    )


@pytest.fixture
def tenant(app: Flask, client: FlaskClient) -> str:
    account = renter(app).person_account
    give_login(app, account)
    login_person(client, account)
    return account


def test_commercial_limit_and_approval(
    app: Flask, client: FlaskClient, tenant: str
) -> None:
    before = account_by_number(app, tenant).balance
    review = post(client, form())
    assert review.status_code == 200, errors_of(review)
    card = card_of(review)
    # Six months at the lower of the rent (2,000) and the monthly limit.
    assert card["rule_limit"] == f"{COMMERCIAL_LIMIT * 6:,.2f}"
    assert card["amount"] == "9,000.00"
    assert card["balance_after"] == f"{before - Decimal('9000'):,.2f}"

    number = confirm(client, URL, review)
    with core_session(app) as session:
        item = session.scalars(
            select(ReviewItem).where(ReviewItem.application_number == number)
        ).one()
        assert item.person_account == tenant
        assert item.payload["amount"] == "9000.00"
        assert item.payload["reason"] == "07"
    assert account_by_number(app, tenant).balance == before

    assert decide(app, number).status_code == 302
    after = account_by_number(app, tenant)
    assert after.balance == before - Decimal("9000.00")
    with core_session(app) as session:
        entry = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.account_id == after.id)
            .order_by(LedgerEntry.id.desc())
        ).first()
        status = session.scalars(
            select(Application.status).where(Application.number == number)
        ).one()
    assert entry.entry_type == "04"
    assert entry.debit == Decimal("9000.00")
    assert entry.balance == after.balance
    assert status == "approved"


def test_public_rental_uses_actual_rent(
    app: Flask, client: FlaskClient, tenant: str
) -> None:
    review = post(client, form(housing_type="public", amount="12000"))
    assert review.status_code == 200, errors_of(review)
    assert card_of(review)["rule_limit"] == f"{Decimal('2000') * 6:,.2f}"


def test_review_lists_each_label_once(
    app: Flask, client: FlaskClient, tenant: str
) -> None:
    review = post(client, form())
    assert review.status_code == 200, errors_of(review)
    labels = [item.get_text(strip=True) for item in parse(review).select("main dt")]
    for label in (
        "租住住房类型",
        "租赁月数",
        "本次最高可提取（元）",
        "本次提取金额（元）",
    ):
        assert labels.count(label) == 1, label
    # The inputs the card does not repeat stay in the list of fields.
    assert "月租金（元）" in labels
    assert "收款银行卡号" in labels
    card = card_of(review)
    assert card["housing_type_label"] == "租住商品住房"
    assert card["months"] == "6"
    assert card["amount"] == "9,000.00"


def test_form_calculates_maximum(app: Flask, client: FlaskClient, tenant: str) -> None:
    response = client.post(
        f"{URL}/calc",
        data={"csrf_token": csrf_token(client.get(URL)), **form()},
    )
    assert response.status_code == 200
    cell = parse_fragment(response).find(id="f-max_amount")
    assert cell["value"] == "9000.00"
    assert parse_fragment(response).find(id="f-rental_months")["value"] == "6"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Above six months at the commercial limit.
        (
            {"amount": "9000.01"},
            "本次提取金额不能超过按租房提取规则计算的限额 9,000.00 元",
        ),
        # A choice the form never offered.
        ({"housing_type": "villa"}, "租住住房类型的选项无效，请从列表中选择"),
        # Required inputs left empty.
        ({"monthly_rent": ""}, "请填写月租金（元）"),
        ({"period_to": ""}, "请填写租赁期的开始和结束"),
        # A bank card whose Luhn check digit is wrong.
        ({"bank_card": "6217000000000000001"}, "收款银行卡号"),
        # The policy allows at most twelve months at a time.
        ({"period_to": month(12)}, "租赁期应为 1 至 12 个月"),
        # The commitment must be accepted.
        ({"_agree": None}, "请阅读并同意《租房提取承诺书》"),
    ],
)
def test_rent_withdrawal_rejects(
    client: FlaskClient, tenant: str, changes: dict[str, Any], expected: str
) -> None:
    response = post(client, form(**changes))
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages


def test_amount_above_balance(app: Flask, client: FlaskClient, tenant: str) -> None:
    balance = account_by_number(app, tenant).balance
    data = form(housing_type="public", monthly_rent=str(balance), period_to=month(11))
    data["amount"] = str(balance + Decimal("0.01"))
    messages = errors_of(post(client, data))
    assert f"本次提取金额不能超过账户可提取余额 {balance:,.2f} 元" in messages


def test_contract_required(client: FlaskClient, tenant: str) -> None:
    response = post(client, form(), attach=False)
    assert "请上传房屋租赁合同" in errors_of(response)


def test_second_open_application_refused(
    app: Flask, client: FlaskClient, tenant: str
) -> None:
    first = confirm(client, URL, post(client, form(amount="1000")))
    response = post(client, form(amount="1000"))
    messages = errors_of(response)
    assert any(first in message and "待审核" in message for message in messages)


def test_open_application_reduces_withdrawable(
    app: Flask, client: FlaskClient, tenant: str
) -> None:
    balance = account_by_number(app, tenant).balance
    confirm(client, URL, post(client, form(amount="1000")))
    page = parse(client.get(URL))
    assert page.find(id="f-withdrawable")["value"] == str(balance - Decimal("1000"))
    assert page.find(id="f-balance")["value"] == str(balance)


def test_borrower_refused(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    messages = errors_of(post(client, form()))
    assert any("未结清的公积金贷款" in message for message in messages)


def test_sealed_account_refused(app: Flask, client: FlaskClient) -> None:
    from connectors.embedded.models import Account

    with core_session(app) as session:
        sealed = session.scalars(
            select(Account.person_account).where(Account.status == "02")
        ).first()
    give_login(app, sealed)
    login_person(client, sealed)
    messages = errors_of(post(client, form(amount="100")))
    assert any("连续足额缴存满 3 个月" in message for message in messages), messages


def test_forged_account_ignored(app: Flask, client: FlaskClient, tenant: str) -> None:
    other = DEMO_ACCOUNT
    other_before = account_by_number(app, other).balance
    review = post(client, form(person_account=other, balance="99999999"))
    number = confirm(client, URL, review)
    decide(app, number)
    assert account_by_number(app, other).balance == other_before
    with core_session(app) as session:
        item = session.scalars(
            select(ReviewItem).where(ReviewItem.application_number == number)
        ).one()
    assert item.person_account == tenant
    assert "person_account" not in item.payload


def test_returned_application_leaves_balance(
    app: Flask, client: FlaskClient, tenant: str
) -> None:
    before = account_by_number(app, tenant).balance
    number = confirm(client, URL, post(client, form()))
    decide(app, number, "return", "租赁合同不清晰")
    assert account_by_number(app, tenant).balance == before
    # A returned application no longer blocks a new one.
    assert post(client, form()).status_code == 200
