"""缴存信息变更查询 (unit-deposit-changes) through the Flask test client."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import UNIT_A, UNIT_B, errors_of, login_unit, parse
from unit_flow import decide, pdf, submit
from werkzeug.test import TestResponse

from connectors.embedded.models import Account, DepositChange, Unit
from engine.clock import business_date

URL = "/unit/unit-deposit-changes"
NEW_ID = "11010519900101007X"
# An amount as the hall shows money: thousands separators and two decimals.
MONEY = re.compile(r"\d{1,3}(,\d{3})*\.\d{2}")


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def changes_of(app: Flask, unit_account: str) -> list[DepositChange]:
    with app.extensions["hall"].session_factory() as session:
        unit_id = session.scalar(
            select(Unit.id).where(Unit.unit_account == unit_account)
        )
        return list(
            session.scalars(
                select(DepositChange).where(DepositChange.unit_id == unit_id)
            )
        )


def rows(response: TestResponse) -> list[list[str]]:
    table = parse(response).select_one("table.result-table")
    found = []
    for row in table.select("tbody tr"):
        cells = [cell.get_text(strip=True) for cell in row.find_all("td")]
        if cells != ["没有符合条件的记录"]:
            found.append(cells)
    return found


def total(response: TestResponse) -> int:
    return int(parse(response).select_one("p.count").get_text().split()[1])


def run(client: FlaskClient, **args: str) -> TestResponse:
    every = {"run": "1", "month_from": "2020-01", "month_to": "2023-12"}
    return client.get(URL, query_string={**every, **args})


def wide(first: str, last: str) -> dict[str, str]:
    return {"month_from": first, "month_to": last}


def all_months(changes: list[DepositChange]) -> dict[str, str]:
    months = sorted(change.effective_month for change in changes)
    return wide(months[0], months[-1])


def test_lists_own_changes(unit_client: FlaskClient, app: Flask) -> None:
    own = changes_of(app, UNIT_A)
    assert own
    response = run(unit_client, **all_months(own))
    assert response.status_code == 200
    assert total(response) == len(own)
    # The newest change comes first.
    assert rows(response)[0][0] == max(change.effective_month for change in own)


@pytest.mark.parametrize(("code", "label"), [("seal", "封存"), ("new", "新增职工")])
def test_filters_by_type(
    unit_client: FlaskClient, app: Flask, code: str, label: str
) -> None:
    own = changes_of(app, UNIT_A)
    expected = [change for change in own if change.change_type == code]
    assert expected
    response = run(unit_client, change_type=code, **all_months(own))
    assert total(response) == len(expected)
    assert {row[1] for row in rows(response)} == {label}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # A change type the core does not have.
        ({"change_type": "bonus"}, "变更类型的选项无效，请从列表中选择"),
        # The months in the wrong order.
        (wide("2026-06", "2026-01"), "生效月份的开始不能晚于结束"),
        # Five years are more than the 48 months allowed.
        (wide("2022-01", "2026-12"), "生效月份最长为48个月"),
        # No start month.
        (wide("", "2026-12"), "请填写生效月份的开始和结束"),
    ],
)
def test_rejects_bad_input(
    unit_client: FlaskClient, args: dict[str, str], message: str
) -> None:
    response = run(unit_client, **args)
    assert response.status_code == 400
    assert errors_of(response) == [message]


def test_other_units_changes_not_listed(unit_client: FlaskClient, app: Flask) -> None:
    own = changes_of(app, UNIT_A)
    foreign = changes_of(app, UNIT_B)
    months = all_months(own + foreign)
    response = run(unit_client, **months)
    assert total(response) == len(own)
    with app.extensions["hall"].session_factory() as session:
        foreign_accounts = set(
            session.scalars(
                select(Account.person_account).where(
                    Account.id.in_([change.account_id for change in foreign])
                )
            )
        )
    listed = {row[2] for row in rows(response)}
    assert not listed & foreign_accounts


def test_approved_opening_is_listed(unit_client: FlaskClient, app: Flask) -> None:
    month = business_date().strftime("%Y-%m")
    number = submit(
        unit_client,
        "unit-open-account",
        {
            "first_month": month,
            "employees-0-_row": "1",
            "employees-0-id_number": NEW_ID,
            "employees-0-name": "张三",
            "employees-0-mobile": "13800138000",
            "employees-0-base": "6000",
            "_agree": "on",
        },
        {"id_card": pdf("身份证.pdf")},
    )
    before = run(unit_client, change_type="new", **wide(month, month))
    assert number not in [row[8] for row in rows(before)]

    decide(app, number)
    after = run(unit_client, change_type="new", **wide(month, month))
    listed = [row for row in rows(after) if row[8] == number]
    assert len(listed) == 1
    assert listed[0][0] == month
    assert listed[0][3] == "张三"
    assert listed[0][4] == "110105********007X"
    assert listed[0][6] == "6,000.00"


def test_base_amounts_formatted(unit_client: FlaskClient, app: Flask) -> None:
    changes = [
        change
        for change in changes_of(app, UNIT_A)
        if change.change_type == "base" and Decimal(change.new_value) >= 1000
    ]
    assert changes, "the demo unit has no base change of 1,000 yuan or more"
    response = run(unit_client, change_type="base", **all_months(changes[:1]))
    listed = rows(response)
    assert listed
    for row in listed:
        assert MONEY.fullmatch(row[5]), row
        assert MONEY.fullmatch(row[6]), row
    new_values = {row[6] for row in listed}
    assert f"{Decimal(changes[0].new_value):,.2f}" in new_values
