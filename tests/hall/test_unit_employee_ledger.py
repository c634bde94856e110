"""单位下个人明细账查询 (unit-employee-ledger) through the Flask test client."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import UNIT_B, errors_of, login_unit, parse
from werkzeug.test import TestResponse

from connectors.embedded.demo_data import DEMO_ID_NUMBER
from connectors.embedded.models import Account, LedgerEntry, Person, Unit
from engine.clock import business_date
from engine.money import format_yuan

URL = "/unit/unit-employee-ledger"
NOT_AN_EMPLOYEE = "该证件号码不是本单位职工，请核对"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def months() -> tuple[str, str]:
    """Return the three years up to this month, as YYYY-MM."""
    this_month = business_date().replace(day=1)
    index = this_month.year * 12 + this_month.month - 1 - 35
    first = dt.date(index // 12, index % 12 + 1, 1)
    return first.strftime("%Y-%m"), this_month.strftime("%Y-%m")


def run(client: FlaskClient, id_number: str, **extra: str) -> TestResponse:
    first, last = months()
    args = {"run": "1", "id_number": id_number, "month_from": first, "month_to": last}
    return client.get(URL, query_string={**args, **extra})


def entries_of(app: Flask, id_number: str) -> list[LedgerEntry]:
    """Read the account's entries from the first month of `months()` on."""
    first = dt.date.fromisoformat(months()[0] + "-01")
    with app.extensions["hall"].session_factory() as session:
        account_id = session.scalar(
            select(Account.id)
            .join(Person, Account.person_id == Person.id)
            .where(Person.id_number == id_number)
        )
        return list(
            session.scalars(
                select(LedgerEntry)
                .where(
                    LedgerEntry.account_id == account_id,
                    LedgerEntry.entry_date >= first,
                )
                .order_by(LedgerEntry.entry_date, LedgerEntry.sequence, LedgerEntry.id)
            )
        )


def other_unit_employee(app: Flask) -> str:
    with app.extensions["hall"].session_factory() as session:
        return session.scalars(
            select(Person.id_number)
            .join(Account, Account.person_id == Person.id)
            .join(Unit, Account.unit_id == Unit.id)
            .where(Unit.unit_account == UNIT_B)
            .order_by(Account.person_account)
        ).first()


def test_employee_ledger_happy_path(unit_client: FlaskClient, app: Flask) -> None:
    response = run(unit_client, DEMO_ID_NUMBER.lower())
    assert response.status_code == 200
    page = parse(response)
    card = {
        item["data-name"]: item.get_text(strip=True)
        for item in page.select("dl.card-list dd[data-name]")
    }
    assert card["person_account"] == "020100000001"
    assert card["name"] == "陈志远"
    expected = entries_of(app, DEMO_ID_NUMBER)
    assert int(page.select_one("p.count").get_text().split()[1]) == len(expected)
    first_row = [
        cell.get_text(strip=True)
        for cell in page.select_one("table.result-table tbody tr").find_all("td")
    ]
    assert first_row[0] == expected[0].entry_date.isoformat()
    assert first_row[5] == format_yuan(expected[0].balance)


def test_other_units_employee_looks_unknown(
    unit_client: FlaskClient, app: Flask
) -> None:
    foreign = other_unit_employee(app)
    response = run(unit_client, foreign)
    assert response.status_code == 400
    assert errors_of(response) == [NOT_AN_EMPLOYEE]
    assert parse(response).select_one("table.result-table") is None
    # A valid ID number unknown to the core gets exactly the same message.
    unknown = run(unit_client, "11010519900101007X")
    assert errors_of(unknown) == errors_of(response)


@pytest.mark.parametrize(
    ("id_number", "extra", "message"),
    [
        # No ID number at all.
        ("", {}, "请填写证件号码"),
        # ID2: a wrong check character.
        ("110105199001010011", {}, "证件号码校验位不正确，请核对后重新输入"),
        # ID3: the birth date 1990-01-00 does not exist.
        ("110105199001000015", {}, "证件号码中的出生日期无效"),
        # The months in the wrong order.
        (
            DEMO_ID_NUMBER,
            {"month_from": "2026-06", "month_to": "2026-01"},
            "查询月份的开始不能晚于结束",
        ),
        # More than three years.
        (
            DEMO_ID_NUMBER,
            {"month_from": "2020-01", "month_to": "2026-12"},
            "查询月份最长为36个月",
        ),
        # A ledger type the core does not have.
        (DEMO_ID_NUMBER, {"entry_type": "99"}, "业务类型的选项无效，请从列表中选择"),
    ],
)
def test_rejects_bad_input(
    unit_client: FlaskClient, id_number: str, extra: dict[str, str], message: str
) -> None:
    response = run(unit_client, id_number, **extra)
    assert response.status_code == 400
    assert errors_of(response) == [message]


def test_page_waits_for_an_id_number(unit_client: FlaskClient) -> None:
    response = unit_client.get(URL)
    assert response.status_code == 200
    assert errors_of(response) == []
    assert parse(response).select_one("table.result-table") is None
