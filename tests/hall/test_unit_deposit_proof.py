"""单位缴存证明查询 (unit-deposit-proof) through the Flask test client."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select
from support import UNIT_A, UNIT_B, errors_of, login_unit, parse
from werkzeug.test import TestResponse

from connectors.base import Caller
from connectors.embedded.models import LedgerEntry, Unit
from engine.clock import business_date
from engine.money import format_yuan

URL = "/unit/unit-deposit-proof"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def month_before(count: int) -> dt.date:
    this_month = business_date().replace(day=1)
    index = this_month.year * 12 + this_month.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


def run(client: FlaskClient, first: dt.date, last: dt.date) -> TestResponse:
    args = {"run": "1", "month_from": f"{first:%Y-%m}", "month_to": f"{last:%Y-%m}"}
    return client.get(URL, query_string=args)


def card(response: TestResponse) -> dict[str, str]:
    return {
        item["data-name"]: item.get_text(strip=True)
        for item in parse(response).select("dl.card-list dd[data-name]")
    }


def rows(response: TestResponse) -> list[list[str]]:
    table = parse(response).select_one("table.result-table")
    return [
        [cell.get_text(strip=True) for cell in row.find_all("td")]
        for row in table.select("tbody tr")
    ]


def remitted(app: Flask, first: dt.date, end: dt.date) -> list[LedgerEntry]:
    with app.extensions["hall"].session_factory() as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.unit_account == UNIT_A))
        return list(
            session.scalars(
                select(LedgerEntry)
                .where(
                    LedgerEntry.unit_id == unit_id,
                    LedgerEntry.entry_type == "01",
                    LedgerEntry.entry_date >= first,
                    LedgerEntry.entry_date < end,
                )
                .order_by(LedgerEntry.entry_date)
            )
        )


def test_paid_months_and_totals(unit_client: FlaskClient, app: Flask) -> None:
    first, last = month_before(12), month_before(1)
    response = run(unit_client, first, last)
    assert response.status_code == 200
    entries = remitted(app, first, month_before(0))
    totals = card(response)
    assert totals["unit_account"] == UNIT_A
    assert totals["months_paid"] == "12"
    assert totals["months_owed"] == "0"
    paid = sum((entry.credit for entry in entries), Decimal(0))
    assert totals["total_paid"] == format_yuan(paid)
    assert totals["last_paid_month"] == f"{last:%Y-%m}"
    listed = rows(response)
    assert [row[0] for row in listed] == [f"{e.entry_date:%Y-%m}" for e in entries]
    assert {row[1] for row in listed} == {"已缴"}


def test_missing_remittance_is_arrears(unit_client: FlaskClient, app: Flask) -> None:
    missing = month_before(3)
    with app.extensions["hall"].session_factory() as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.unit_account == UNIT_A))
        session.execute(
            delete(LedgerEntry).where(
                LedgerEntry.unit_id == unit_id,
                LedgerEntry.entry_type == "01",
                LedgerEntry.entry_date >= missing,
                LedgerEntry.entry_date < month_before(2),
            )
        )
        session.commit()
    router = app.extensions["hall"].router
    employees = router.call("unit.employees", Caller("unit", unit_account=UNIT_A), {})
    owed = sum(
        (row["unit_deposit"] + row["person_deposit"] for row in employees), Decimal(0)
    )

    response = run(unit_client, month_before(6), month_before(1))
    totals = card(response)
    assert totals["months_paid"] == "5"
    assert totals["months_owed"] == "1"
    assert totals["total_arrears"] == format_yuan(owed)
    row = next(row for row in rows(response) if row[0] == f"{missing:%Y-%m}")
    assert row[1] == "欠缴"
    assert row[4] == format_yuan(owed)


def test_months_before_records_not_listed(unit_client: FlaskClient) -> None:
    response = run(unit_client, month_before(59), month_before(1))
    assert response.status_code == 200
    # The demo ledger starts 36 months back with a migrated opening balance.
    assert rows(response)[0][0] == f"{month_before(36):%Y-%m}"
    assert card(response)["months_owed"] == "0"


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        # The months in the wrong order.
        ("2026-06", "2026-01", "查询月份的开始不能晚于结束"),
        # Six years are more than the 60 months allowed.
        ("2020-01", "2025-12", "查询月份最长为60个月"),
        # No end month.
        ("2026-01", "", "请填写查询月份的开始和结束"),
    ],
)
def test_rejects_bad_months(
    unit_client: FlaskClient, first: str, last: str, message: str
) -> None:
    args = {"run": "1", "month_from": first, "month_to": last}
    response = unit_client.get(URL, query_string=args)
    assert response.status_code == 400
    assert errors_of(response) == [message]


def test_other_unit_params_ignored(unit_client: FlaskClient, app: Flask) -> None:
    first, last = month_before(12), month_before(1)
    args = {
        "run": "1",
        "month_from": f"{first:%Y-%m}",
        "month_to": f"{last:%Y-%m}",
        "unit_account": UNIT_B,
    }
    response = unit_client.get(URL, query_string=args)
    totals = card(response)
    assert totals["unit_account"] == UNIT_A
    own = sum((e.credit for e in remitted(app, first, month_before(0))), Decimal(0))
    assert totals["total_paid"] == format_yuan(own)
