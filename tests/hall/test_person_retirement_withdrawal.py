"""离退休提取 (person-retirement-withdrawal): eligibility, closing interest, closure."""

from __future__ import annotations

import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal
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
from support import csrf_token, errors_of, login_person, parse

from connectors.embedded.models import Account, LedgerEntry, Person
from engine.clock import business_date

URL = "/person/person-retirement-withdrawal"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CARD = "6217000000000000004"


def set_birth(app: Flask, person_account: str, birth: dt.date, group: str) -> None:
    with core_session(app) as session:
        account = session.scalars(
            select(Account).where(Account.person_account == person_account)
        ).one()
        person = session.get_one(Person, account.person_id)
        person.birth_date = birth
        person.retirement_group = group
        session.commit()


def expected_interest(app: Flask, person_account: str, day: dt.date) -> Decimal:
    """Interest from 1 July to `day` at 1.5% a year on 360-day-year balance-days."""
    start = dt.date(day.year if day.month >= 7 else day.year - 1, 7, 1)
    with core_session(app) as session:
        account = session.scalars(
            select(Account).where(Account.person_account == person_account)
        ).one()
        entries = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.account_id == account.id)
            .order_by(LedgerEntry.entry_date, LedgerEntry.sequence, LedgerEntry.id)
        ).all()
    carried = Decimal(0)
    balance_days = Decimal(0)
    for entry in entries:
        if entry.entry_date < start:
            carried = entry.balance
        else:
            balance_days += (entry.credit - entry.debit) * (day - entry.entry_date).days
    balance_days += carried * (day - start).days
    interest = balance_days * Decimal("0.015") / 360
    return interest.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def post(client: FlaskClient, data: dict[str, Any], certificate: bool = False) -> Any:
    files = {}
    if certificate:
        files["retirement_certificate"] = (io.BytesIO(PDF), "退休证.pdf")
    return client.post(
        URL,
        data={"csrf_token": csrf_token(client.get(URL)), **data, **files},
        content_type="multipart/form-data",
    )


FORM = {"bank_card": CARD, "_agree": "on"}


@pytest.fixture
def retiree(app: Flask, client: FlaskClient) -> str:
    """A man born in June 1965, who retires at 60 years and 2 months: 2025-08-20."""
    account = renter(app, "1000").person_account
    set_birth(app, account, dt.date(1965, 6, 20), "male")
    give_login(app, account)
    login_person(client, account)
    return account


def test_whole_balance_and_closure(
    app: Flask, client: FlaskClient, retiree: str
) -> None:
    today = business_date()
    balance = account_by_number(app, retiree).balance
    interest = expected_interest(app, retiree, today)

    page = parse(client.get(URL))
    assert page.find(id="f-retirement_date")["value"] == "2025-08-20"
    assert page.find(id="f-balance")["value"] == str(balance)
    assert page.find(id="f-interest")["value"] == str(interest)
    assert page.find(id="f-amount")["value"] == str(balance + interest)

    review = post(client, FORM)
    assert review.status_code == 200, errors_of(review)
    card = card_of(review)
    assert card["amount"] == f"{balance + interest:,.2f}"
    assert card["closing_date"] == today.isoformat()

    number = confirm(client, URL, review)
    assert decide(app, number).status_code == 302
    closed = account_by_number(app, retiree)
    assert closed.status == "05"
    assert closed.closed_on == today
    assert closed.balance == Decimal("0.00")
    with core_session(app) as session:
        entries = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.account_id == closed.id, LedgerEntry.entry_date == today)
            .order_by(LedgerEntry.sequence)
        ).all()
    assert [entry.entry_type for entry in entries][-2:] == ["03", "04"]
    assert entries[-2].credit == interest
    assert entries[-1].debit == balance + interest
    assert entries[-1].balance == Decimal("0.00")


def test_closed_account_cannot_withdraw(
    app: Flask, client: FlaskClient, retiree: str
) -> None:
    decide(app, confirm(client, URL, post(client, FORM)))
    response = post(client, FORM)
    assert response.status_code == 400
    assert any("提取销户" in message for message in errors_of(response))


def test_before_retirement_needs_certificate(app: Flask, client: FlaskClient) -> None:
    account = renter(app, "1000").person_account
    # Born in 1980, a man retires at 63, on 2043-01-01.
    set_birth(app, account, dt.date(1980, 1, 1), "male")
    give_login(app, account)
    login_person(client, account)
    response = post(client, FORM)
    assert response.status_code == 400
    messages = errors_of(response)
    assert any("2043-01-01" in message for message in messages), messages
    assert post(client, FORM, certificate=True).status_code == 200


def test_other_open_withdrawal_blocks(
    app: Flask, client: FlaskClient, retiree: str
) -> None:
    rent = client.post(
        "/person/person-rent-withdrawal",
        data={
            "csrf_token": csrf_token(client.get(URL)),
            "housing_type": "public",
            "period_from": business_date().strftime("%Y-%m"),
            "period_to": business_date().strftime("%Y-%m"),
            "monthly_rent": "100",
            "amount": "100",
            "bank_card": CARD,
            "_agree": "on",
            "rental_contract": (io.BytesIO(PDF), "合同.pdf"),
        },
        content_type="multipart/form-data",
    )
    number = confirm(client, "/person/person-rent-withdrawal", rent)
    messages = errors_of(post(client, FORM))
    assert any(number in message for message in messages), messages


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # The card number fails its Luhn check.
        ({"bank_card": "6217000000000000001"}, "收款银行卡号"),
        ({"bank_card": ""}, "请填写收款银行卡号"),
        # The notice must be accepted.
        ({"_agree": None}, "请阅读并同意《离退休提取告知书》"),
    ],
)
def test_retirement_withdrawal_rejects(
    client: FlaskClient, retiree: str, changes: dict[str, Any], expected: str
) -> None:
    data = {key: value for key, value in {**FORM, **changes}.items() if value}
    response = post(client, data)
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages


def test_forged_amount_ignored(app: Flask, client: FlaskClient, retiree: str) -> None:
    balance = account_by_number(app, retiree).balance
    response = post(client, {**FORM, "amount": "99999999", "balance": "99999999"})
    assert card_of(response)["balance"] == f"{balance:,.2f}"


def test_demo_depositor_not_retired(client: FlaskClient) -> None:
    # Born 1985-03-05, the demo depositor is decades from retirement.
    login_person(client, DEMO_ACCOUNT)
    messages = errors_of(post(client, FORM))
    assert any("尚未达到" in message for message in messages), messages
