"""单位托收业务查询 (unit-direct-debit) through the Flask test client."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import UNIT_A, UNIT_B, errors_of, login_unit, parse
from unit_flow import decide, pdf, submit
from werkzeug.test import TestResponse

from connectors.base import Caller
from connectors.embedded.models import Account, LedgerEntry, Person, Unit
from engine.clock import business_date
from engine.money import format_yuan

URL = "/unit/unit-direct-debit"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def rows(response: TestResponse) -> list[list[str]]:
    table = parse(response).select_one("table.result-table")
    return [
        [cell.get_text(strip=True) for cell in row.find_all("td")]
        for row in table.select("tbody tr")
    ]


def remittances(app: Flask, unit_account: str) -> tuple[Unit, list[LedgerEntry]]:
    with app.extensions["hall"].session_factory() as session:
        unit = session.scalars(
            select(Unit).where(Unit.unit_account == unit_account)
        ).one()
        entries = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.unit_id == unit.id, LedgerEntry.entry_type == "01")
            .order_by(LedgerEntry.entry_date.desc())
        ).all()
        return unit, list(entries)


def test_lists_debits_and_this_month(unit_client: FlaskClient, app: Flask) -> None:
    unit, entries = remittances(app, UNIT_A)
    response = unit_client.get(URL)
    assert response.status_code == 200
    listed = rows(response)
    this_month = business_date().strftime("%Y-%m")
    # The current month is not collected yet in the demo data.
    assert listed[0][0] == this_month
    assert listed[0][4] == "待扣款"
    debited = listed[1:]
    assert len(debited) == 11
    for row, entry in zip(debited, entries, strict=False):
        assert row[0] == entry.entry_date.strftime("%Y-%m")
        assert row[1] == format_yuan(entry.credit)
        assert row[2] == unit.bank
        assert row[4] == "扣款成功"
        assert row[5] == entry.entry_date.isoformat()
    assert unit.bank_account not in response.get_data(as_text=True)


def test_other_units_debits_not_listed(unit_client: FlaskClient, app: Flask) -> None:
    other, foreign = remittances(app, UNIT_B)
    response = unit_client.get(URL, query_string={"unit_account": UNIT_B})
    listed = rows(response)
    assert other.bank not in {row[2] for row in listed}
    assert format_yuan(foreign[0].credit) not in {row[1] for row in listed}


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        # The months in the wrong order.
        ("2026-06", "2026-01", "托收月份的开始不能晚于结束"),
        # Four years are more than the 36 months allowed.
        ("2023-01", "2026-12", "托收月份最长为36个月"),
        # A month that does not exist.
        ("2026-00", "2026-12", "托收月份应为月份，格式为 YYYY-MM，例如 2026-01"),
    ],
)
def test_rejects_bad_months(
    unit_client: FlaskClient, first: str, last: str, message: str
) -> None:
    args = {"run": "1", "month_from": first, "month_to": last}
    response = unit_client.get(URL, query_string=args)
    assert response.status_code == 400
    assert errors_of(response) == [message]


def scheduled_amount(client: FlaskClient) -> str:
    listed = rows(client.get(URL))
    assert listed[0][4] == "待扣款"
    return listed[0][1]


def test_approvals_change_the_amount_due(unit_client: FlaskClient, app: Flask) -> None:
    before = Decimal(scheduled_amount(unit_client).replace(",", ""))
    number = submit(
        unit_client,
        "unit-open-account",
        {
            "first_month": business_date().strftime("%Y-%m"),
            "employees-0-_row": "1",
            "employees-0-id_number": "11010519900101007X",
            "employees-0-name": "张三",
            "employees-0-mobile": "13800138000",
            "employees-0-base": "6000",
            "_agree": "on",
        },
        {"id_card": pdf("身份证.pdf")},
    )
    decide(app, number)
    # The new account deposits 720 + 720 a month at the unit's 12% and 12%.
    opened = Decimal(scheduled_amount(unit_client).replace(",", ""))
    assert opened == before + Decimal("1440.00")

    router = app.extensions["hall"].router
    leaving = router.call("unit.employees", Caller("unit", unit_account=UNIT_A), {})[3]
    with app.extensions["hall"].session_factory() as session:
        id_number = session.scalar(
            select(Person.id_number)
            .join(Account, Account.person_id == Person.id)
            .where(Account.person_account == leaving["person_account"])
        )
    number = submit(
        unit_client,
        "unit-seal-transfer",
        {
            "action": "seal",
            "effective_month": business_date().strftime("%Y-%m"),
            "reason": "contract-ended",
            "employees-0-_row": "1",
            "employees-0-id_number": id_number,
            "_agree": "on",
        },
        {"leaving_certificate": pdf("离职证明.pdf")},
    )
    decide(app, number)
    sealed = Decimal(scheduled_amount(unit_client).replace(",", ""))
    assert sealed == opened - leaving["unit_deposit"] - leaving["person_deposit"]
