"""职工账户转移查询 (unit-transfers): date filter, checks and which units see what."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import UNIT_A, UNIT_B, errors_of, login_unit, parse
from unit_flow import decide, pdf, submit
from werkzeug.test import TestResponse

from connectors.embedded.models import Account, Person, Unit
from engine.clock import business_date

URL = "/unit/unit-transfers"
UNIT_C = "0201000003"
TODAY = business_date()


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def rows(response: TestResponse) -> list[list[str]]:
    table = parse(response).select_one("table.result-table")
    found = []
    for row in table.select("tbody tr"):
        cells = [cell.get_text(strip=True) for cell in row.find_all("td")]
        if cells != ["没有符合条件的记录"]:
            found.append(cells)
    return found


def transfer_one(client: FlaskClient, app: Flask) -> dict[str, Any]:
    """Transfer an active employee of unit A to unit B and approve it."""
    with app.extensions["hall"].session_factory() as session:
        account, person = session.execute(
            select(Account, Person)
            .join(Person, Account.person_id == Person.id)
            .join(Unit, Account.unit_id == Unit.id)
            .where(Unit.unit_account == UNIT_A, Account.status == "01")
            .order_by(Account.person_account.desc())
        ).first()
        moved = {"person_account": account.person_account, "name": person.name}
        id_number = person.id_number
    number = submit(
        client,
        "unit-seal-transfer",
        {
            "action": "transfer",
            "target_unit_account": UNIT_B,
            "effective_month": TODAY.strftime("%Y-%m"),
            "reason": "reassigned",
            "employees-0-_row": "1",
            "employees-0-id_number": id_number,
            "_agree": "on",
        },
        {"leaving_certificate": pdf("调动证明.pdf")},
    )
    decide(app, number)
    return moved


def period(first: dt.date, last: dt.date) -> dict[str, str]:
    return {"run": "1", "period_from": first.isoformat(), "period_to": last.isoformat()}


def test_date_range_filters(unit_client: FlaskClient, app: Flask) -> None:
    moved = transfer_one(unit_client, app)
    today = rows(unit_client.get(URL, query_string=period(TODAY, TODAY)))
    assert [row[1] for row in today] == [moved["person_account"]]
    yesterday = TODAY - dt.timedelta(days=1)
    earlier = rows(unit_client.get(URL, query_string=period(yesterday, yesterday)))
    assert earlier == []


def test_third_unit_sees_nothing(unit_client: FlaskClient, app: Flask) -> None:
    moved = transfer_one(unit_client, app)
    third = app.test_client()
    login_unit(third, app, UNIT_C)
    response = third.get(URL)
    assert rows(response) == []
    assert moved["name"] not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # The dates in the wrong order.
        (
            {"period_from": "2026-06-01", "period_to": "2026-01-01"},
            "转移日期的开始不能晚于结束",
        ),
        # A day that does not exist.
        (
            {"period_from": "2026-02-30", "period_to": "2026-03-01"},
            "转移日期应为日期，格式为 YYYY-MM-DD，例如 2026-01-31",
        ),
        # Only one end of the range.
        ({"period_from": "2026-01-01", "period_to": ""}, "请填写转移日期的开始和结束"),
    ],
)
def test_rejects_bad_dates(
    unit_client: FlaskClient, args: dict[str, str], message: str
) -> None:
    response = unit_client.get(URL, query_string={"run": "1", **args})
    assert response.status_code == 400
    assert errors_of(response) == [message]
