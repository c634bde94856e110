"""单位比例调整 (unit-ratio-change) through the Flask test client."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import UNIT_A, UNIT_B, csrf_token, errors_of, login_unit, parse
from unit_flow import decide, pdf, post_service, submit
from werkzeug.test import TestResponse

from connectors.base import Caller
from connectors.embedded.finance import monthly_deposit
from connectors.embedded.models import Unit
from engine.storage.models import Application

SERVICE = "unit-ratio-change"
URL = f"/unit/{SERVICE}"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def employees(app: Flask, unit_account: str = UNIT_A) -> list[dict[str, Any]]:
    router = app.extensions["hall"].router
    return router.call("unit.employees", Caller("unit", unit_account=unit_account), {})


def form(**changes: Any) -> dict[str, Any]:
    data = {
        "new_unit_ratio": "10",
        "new_person_ratio": "10",
        "effective_month": "2027-01",
        "_agree": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def files() -> dict[str, Any]:
    return {"application_letter": pdf("比例调整申请书.pdf")}


def value(page: Any, dom_id: str) -> str:
    found = page.find(id=f"f-{dom_id}")
    assert found is not None, dom_id
    return found["value"]


def expected_totals(
    rows: list[dict[str, Any]], unit_ratio: str, person_ratio: str
) -> dict[str, Decimal]:
    """Compute the trial totals as the fund's rule does: each part rounded to yuan."""
    new = [
        monthly_deposit(row["base"], Decimal(unit_ratio), Decimal(person_ratio), 0)
        for row in rows
    ]
    old_unit = sum((row["unit_deposit"] for row in rows), Decimal(0))
    old_person = sum((row["person_deposit"] for row in rows), Decimal(0))
    new_unit = sum((deposit.unit for deposit in new), Decimal(0))
    new_person = sum((deposit.person for deposit in new), Decimal(0))
    return {
        "total_old_unit": old_unit,
        "total_new_unit": new_unit,
        "total_old_person": old_person,
        "total_new_person": new_person,
        "total_difference": new_unit + new_person - old_unit - old_person,
    }


def calc(client: FlaskClient, data: dict[str, Any]) -> Any:
    token = csrf_token(client.get(URL))
    response = client.post(f"{URL}/calc", data={"csrf_token": token, **data})
    assert response.status_code == 200
    return parse(response)


def test_page_shows_ratios_and_first_page(
    unit_client: FlaskClient, app: Flask
) -> None:
    page = parse(unit_client.get(URL))
    assert value(page, "unit_ratio") == "12"
    assert value(page, "person_ratio") == "12"
    own = employees(app)
    rows = page.find(id="tbody-employees").find_all("tr")
    assert len(rows) == 50
    assert value(page, "employees-0-person_account") == own[0]["person_account"]
    assert value(page, "employee_count") == str(len(own))
    pager = page.select_one("#rows-employees nav.pager").get_text(" ", strip=True)
    assert f"第 1 / 3 页，共 {len(own)} 行" in pager


def test_trial_lists_each_employee_and_totals(
    unit_client: FlaskClient, app: Flask
) -> None:
    own = employees(app)
    cells = calc(unit_client, {"new_unit_ratio": "7", "new_person_ratio": "5"})
    first = own[0]
    new = monthly_deposit(first["base"], Decimal(7), Decimal(5), 0)
    assert value(cells, "employees-0-new_unit_deposit") == str(new.unit)
    assert value(cells, "employees-0-new_person_deposit") == str(new.person)
    difference = new.total - first["unit_deposit"] - first["person_deposit"]
    assert value(cells, "employees-0-difference") == str(difference)
    for name, total in expected_totals(own, "7", "5").items():
        assert value(cells, name) == str(total), name
    # Only the cells of the shown page are swapped in.
    assert cells.find(id="f-employees-50-new_unit_deposit") is None


def test_trial_rounds_each_part_half_up(unit_client: FlaskClient, app: Flask) -> None:
    # At 5%, a base ending in 10 yuan past a multiple of 20 gives exactly half a
    # yuan, as in D3 (1,730 gives 86.50), which rounds up.
    halves = [
        (index, row)
        for index, row in enumerate(employees(app)[:50])
        if row["base"] % 20 == 10
    ]
    assert halves, "no base on the first page gives half a yuan at 5%"
    cells = calc(unit_client, {"new_unit_ratio": "5", "new_person_ratio": "5"})
    for index, row in halves:
        exact = row["base"] * 5 / 100
        assert exact % 1 == Decimal("0.5")
        rounded = str((exact + Decimal("0.5")).quantize(Decimal("0.01")))
        assert value(cells, f"employees-{index}-new_unit_deposit") == rounded
        assert value(cells, f"employees-{index}-new_person_deposit") == rounded


def test_second_page_without_javascript(unit_client: FlaskClient, app: Flask) -> None:
    response = post_service(
        unit_client, SERVICE, form(_action="page:employees:2", new_unit_ratio="8")
    )
    assert response.status_code == 200
    page = parse(response)
    own = employees(app)
    assert value(page, "employees-50-person_account") == own[50]["person_account"]
    assert page.find(id="f-employees-0-person_account") is None
    assert value(page, "new_unit_ratio") == "8"
    assert page.find("input", attrs={"name": "_page_employees"})["value"] == "2"


def test_ratio_change_happy_path(unit_client: FlaskClient, app: Flask) -> None:
    own = employees(app)
    review = post_service(unit_client, SERVICE, form(), files())
    assert review.status_code == 200, errors_of(review)
    number = submit(unit_client, SERVICE, form(), files())
    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        assert stored.data["new_unit_ratio"] == "10"
        assert len(stored.data["employees"]) == len(own)
        totals = expected_totals(own, "10", "10")
        assert stored.data["total_difference"] == str(totals["total_difference"])

    decide(app, number)
    with app.extensions["hall"].session_factory() as session:
        unit = session.scalars(select(Unit).where(Unit.unit_account == UNIT_A)).one()
        assert unit.unit_ratio == Decimal(10)
        assert unit.person_ratio == Decimal(10)
    after = employees(app)
    base = after[0]["base"]
    assert after[0]["unit_deposit"] == monthly_deposit(base, 10, 10, 0).unit

    card = parse(unit_client.get("/unit/unit-info"))
    assert card.select_one("dd[data-name=unit_ratio]").get_text() == "10%"
    changes = unit_client.get(
        "/unit/unit-deposit-changes",
        query_string={
            "run": "1",
            "change_type": "ratio",
            "month_from": "2027-01",
            "month_to": "2027-01",
        },
    )
    row = [
        cell.get_text(strip=True)
        for cell in parse(changes).select_one("table.result-table tbody tr")("td")
    ]
    assert row[1] == "比例调整"
    assert row[3] == "全体职工"
    assert row[5] == "单位12%/个人12%"
    assert row[6] == "单位10%/个人10%"
    assert row[8] == number


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Above the national maximum of 12%.
        ({"new_unit_ratio": "13"}, "新单位缴存比例（%）应在5%至12%之间"),
        # Below the floor of 5%.
        ({"new_person_ratio": "4.5"}, "新个人缴存比例（%）应在5%至12%之间"),
        # Not a number.
        ({"new_unit_ratio": "十"}, "新单位缴存比例（%）应为百分比数字"),
        # Left empty.
        ({"new_person_ratio": ""}, "请填写新个人缴存比例（%）"),
        # A month that does not exist.
        ({"effective_month": "2027-13"}, "生效月份应为月份"),
        # The commitment is not accepted.
        ({"_agree": None}, "请阅读并同意《比例调整承诺》"),
    ],
)
def test_rejects_bad_input(
    unit_client: FlaskClient, changes: dict[str, Any], expected: str
) -> None:
    response = post_service(unit_client, SERVICE, form(**changes), files())
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages


def test_letter_required(unit_client: FlaskClient) -> None:
    response = post_service(unit_client, SERVICE, form(), {})
    assert response.status_code == 400
    assert "请上传比例调整申请书" in errors_of(response)


@pytest.mark.parametrize(
    ("changes", "comment"),
    [
        # The same ratios as now change nothing.
        ({"new_unit_ratio": "12", "new_person_ratio": "12"}, "新缴存比例与现行比例相同"),
        # A month already past.
        ({"effective_month": "2020-01"}, "生效月份不能早于本月"),
    ],
)
def test_core_returns_pointless_change(
    unit_client: FlaskClient, app: Flask, changes: dict[str, Any], comment: str
) -> None:
    number = submit(unit_client, SERVICE, form(**changes), files())
    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        assert stored.status == "returned"
        assert comment in stored.comment


def test_other_units_employees_not_listed(
    unit_client: FlaskClient, app: Flask
) -> None:
    foreign = employees(app, UNIT_B)[0]["person_account"]
    data = form(
        **{
            "employees-999-person_account": foreign,
            "employees-999-base": "20000",
        }
    )
    response: TestResponse = post_service(unit_client, SERVICE, data, files())
    assert response.status_code == 400
    assert any("记录不存在" in message for message in errors_of(response))
    assert foreign not in response.get_data(as_text=True)


def test_account_cells_sized_to_value(unit_client: FlaskClient, app: Flask) -> None:
    page = parse(unit_client.get(URL))
    first = employees(app)[0]
    account = page.find(id="f-employees-0-person_account")
    assert account["value"] == first["person_account"]
    assert int(account["size"]) > len(first["person_account"])
    name = page.find(id="f-employees-0-name")
    # A wide (CJK) character takes two average character widths.
    assert int(name["size"]) > 2 * len(first["name"])
    # An input the person types into keeps the column's width.
    assert not page.find(id="f-new_unit_ratio").has_attr("size")


def test_sized_cells_not_stretched(app: Flask) -> None:
    response = app.test_client().get("/static/hall.css")
    css = response.get_data(as_text=True)
    response.close()
    assert "table.entry input[readonly][size] { width: auto; }" in css
    assert "td.code { white-space: nowrap; }" in css
