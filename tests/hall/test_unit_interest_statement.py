"""单位结息对账单查询 (unit-interest-statement) through the Flask test client."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import UNIT_A, UNIT_B, errors_of, login_unit, parse
from werkzeug.test import TestResponse

from connectors.embedded.models import Account, InterestSettlement, Unit
from engine.money import format_yuan

URL = "/unit/unit-interest-statement"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def settlements(
    app: Flask, unit_account: str
) -> dict[int, list[tuple[InterestSettlement, str]]]:
    """Return the unit's settlements by year, with each one's personal account."""
    with app.extensions["hall"].session_factory() as session:
        unit_id = session.scalar(
            select(Unit.id).where(Unit.unit_account == unit_account)
        )
        found = session.execute(
            select(InterestSettlement, Account.person_account)
            .join(Account, InterestSettlement.account_id == Account.id)
            .where(Account.unit_id == unit_id)
        ).all()
    years: dict[int, list[tuple[InterestSettlement, str]]] = {}
    for settlement, person_account in found:
        years.setdefault(settlement.year, []).append((settlement, person_account))
    return years


def card(response: TestResponse) -> dict[str, str]:
    return {
        item["data-name"]: item.get_text(strip=True)
        for item in parse(response).select("dl.card-list dd[data-name]")
    }


def test_year_choices_are_settled_years(unit_client: FlaskClient, app: Flask) -> None:
    page = parse(unit_client.get(URL))
    offered = [
        option["value"]
        for option in page.select("select[name=year] option")
        if option["value"]
    ]
    assert offered == [str(year) for year in sorted(settlements(app, UNIT_A))[::-1]]


def test_statement_lists_employees_and_totals(
    unit_client: FlaskClient, app: Flask
) -> None:
    year, rows = max(settlements(app, UNIT_A).items())
    response = unit_client.get(URL, query_string={"run": "1", "year": str(year)})
    assert response.status_code == 200
    totals = card(response)
    assert totals["employee_count"] == str(len(rows))
    interest = sum((settlement.interest for settlement, _ in rows), Decimal(0))
    assert totals["total_interest"] == format_yuan(interest)
    after = sum((settlement.balance_after for settlement, _ in rows), Decimal(0))
    assert totals["total_after"] == format_yuan(after)

    exported = unit_client.get(
        f"{URL}/export.csv", query_string={"run": "1", "year": str(year)}
    )
    lines = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
    assert lines[0][0] == "个人账号"
    expected = {person_account: s for s, person_account in rows}
    assert {line[0] for line in lines[1:]} == set(expected)
    for line in lines[1:]:
        assert line[5] == format_yuan(expected[line[0]].interest)


def test_other_units_accounts_not_listed(unit_client: FlaskClient, app: Flask) -> None:
    year, rows = max(settlements(app, UNIT_B).items())
    exported = unit_client.get(
        f"{URL}/export.csv",
        query_string={"run": "1", "year": str(year), "unit_account": UNIT_B},
    )
    lines = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
    foreign = {person_account for _settlement, person_account in rows}
    assert lines[1:]
    assert not {line[0] for line in lines[1:]} & foreign


@pytest.mark.parametrize(
    ("year", "message"),
    [
        # No year chosen.
        ("", "请选择结息年度"),
        # A year without any settlement is not offered.
        ("1999", "结息年度的选项无效，请从列表中选择"),
        # Not a year at all.
        ("二〇二五", "结息年度的选项无效，请从列表中选择"),
    ],
)
def test_rejects_bad_year(unit_client: FlaskClient, year: str, message: str) -> None:
    response = unit_client.get(URL, query_string={"run": "1", "year": year})
    assert response.status_code == 400
    assert errors_of(response) == [message]
