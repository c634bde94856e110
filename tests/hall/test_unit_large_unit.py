"""A unit of thousands of employees: paged rows in the base and ratio changes."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select
from stdnum.cn import ric
from support import (
    UNIT_A,
    errors_of,
    login_unit,
    parse,
    parse_fragment,
)
from unit_flow import pdf, sms_code

from connectors.base import Caller
from connectors.embedded.finance import monthly_deposit
from connectors.embedded.models import Account, Person, Unit

EXTRA_EMPLOYEES = 3000
# A generous bound for a shared 2-core machine. A page that rendered every row
# instead of one page would take far longer.
SLOW_REQUEST_SECONDS = 15


@pytest.fixture
def large_unit(app: Flask) -> int:
    """Add EXTRA_EMPLOYEES active accounts to the first unit; return its row count."""
    with app.extensions["hall"].session_factory() as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.unit_account == UNIT_A))
        first_person = session.scalar(select(func.max(Person.id))) + 1
        first_account = int(session.scalar(select(func.max(Account.person_account))))
        people, accounts = [], []
        for offset in range(EXTRA_EMPLOYEES):
            birth = dt.date(1970, 1, 1) + dt.timedelta(days=offset * 3)
            partial = f"440203{birth:%Y%m%d}{offset % 1000:03d}"
            people.append(
                {
                    "id": first_person + offset,
                    "id_number": partial + ric.calc_check_digit(partial + "0"),
                    "name": f"职工{offset:04d}",
                    "sex": "1" if offset % 2 else "2",
                    "birth_date": birth,
                    "mobile": f"139{offset:08d}",
                    "address": "",
                    "bank_card": "",
                    "retirement_group": "male",
                }
            )
            accounts.append(
                {
                    "person_account": f"{first_account + 1 + offset:012d}",
                    "person_id": first_person + offset,
                    "unit_id": unit_id,
                    "status": "01",
                    "base": Decimal(3000 + offset % 700 * 10),
                    "opened_on": dt.date(2020, 1, 1),
                    "last_paid_month": None,
                    "balance": Decimal("1000.00"),
                    "closed_on": None,
                }
            )
        session.execute(insert(Person), people)
        session.execute(insert(Account), accounts)
        session.commit()
        return session.scalar(
            select(func.count(Account.id)).where(
                Account.unit_id == unit_id, Account.status == "01"
            )
        )


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def employees(app: Flask) -> list[dict[str, Any]]:
    router = app.extensions["hall"].router
    return router.call("unit.employees", Caller("unit", unit_account=UNIT_A), {})


def posted_values(page: BeautifulSoup) -> dict[str, str]:
    """Collect what the service form would post, as a browser does."""
    form = page.select_one("form.service-form")
    data: dict[str, str] = {}
    for element in form.find_all(["input", "select", "textarea"]):
        name = element.get("name")
        kind = element.get("type", "")
        if not name or kind in ("file", "submit") or element.name == "button":
            continue
        if kind == "checkbox" and not element.has_attr("checked"):
            continue
        if element.name == "select":
            chosen = element.find("option", selected=True)
            data[name] = chosen["value"] if chosen else ""
        elif element.name == "textarea":
            data[name] = element.get_text()
        else:
            data[name] = element.get("value", "")
    return data


def timed_post(client: FlaskClient, url: str, data: dict[str, Any]) -> Any:
    started = time.perf_counter()
    response = client.post(url, data=data, content_type="multipart/form-data")
    assert time.perf_counter() - started < SLOW_REQUEST_SECONDS
    return response


def test_base_change_keeps_changes_across_pages(
    unit_client: FlaskClient, app: Flask, large_unit: int
) -> None:
    url = "/unit/unit-base-change"
    first = parse(unit_client.get(url))
    assert len(first.find(id="tbody-employees").find_all("tr")) == 200
    pages = -(-large_unit // 200)
    pager = first.select_one("#rows-employees nav.pager").get_text(" ", strip=True)
    assert f"第 1 / {pages} 页，共 {large_unit} 行" in pager

    # Change a row on page 1, then turn to page 3.
    data = posted_values(first)
    data["employees-5-base"] = "8000"
    data["_action"] = "page:employees:3"
    third = parse(timed_post(unit_client, url, data))
    assert third.find(id="f-employees-5-base") is None
    assert third.find(id="f-employees-400-base") is not None
    carried = third.select_one("div.carried")
    assert carried.find("input", attrs={"name": "employees-5-base"})["value"] == "8000"

    # Change a row on page 3 and submit: both changes arrive, nothing else.
    data = posted_values(third)
    data["employees-450-base"] = "9000"
    data["effective_month"] = "2027-01"
    data["_agree"] = "on"
    data["_action"] = "submit"
    data["_sms_code"] = sms_code(unit_client, app, "unit-base-change")
    data["wage_list"] = pdf("工资表.pdf")
    review = timed_post(unit_client, url, data)
    assert review.status_code == 200, errors_of(review)
    text = parse(review).get_text(" ", strip=True)
    assert "职工缴存基数（2 行）" in text
    own = employees(app)
    assert own[5]["person_account"] in text
    assert own[450]["person_account"] in text


def test_base_change_error_shows_its_page(
    unit_client: FlaskClient, app: Flask, large_unit: int
) -> None:
    url = "/unit/unit-base-change"
    data = posted_values(parse(unit_client.get(url)))
    data["_action"] = "page:employees:2"
    second = parse(timed_post(unit_client, url, data))
    data = posted_values(second)
    # A base below the floor, typed while page 2 is shown.
    data["employees-250-base"] = "100"
    data["_action"] = "page:employees:1"
    first = parse(timed_post(unit_client, url, data))
    data = posted_values(first)
    data.update(
        {"_action": "submit", "_agree": "on", "effective_month": "2027-01"}
    )
    data["_sms_code"] = sms_code(unit_client, app, "unit-base-change")
    data["wage_list"] = pdf("工资表.pdf")
    response = timed_post(unit_client, url, data)
    assert response.status_code == 400
    page = parse(response)
    assert page.find(id="err-employees-250-base") is not None
    assert page.find("input", attrs={"name": "_page_employees"})["value"] == "2"
    assert any("新缴存基数应在" in message for message in errors_of(response))


def test_ratio_trial_totals_every_employee(
    unit_client: FlaskClient, app: Flask, large_unit: int
) -> None:
    url = "/unit/unit-ratio-change"
    started = time.perf_counter()
    page = parse(unit_client.get(url))
    assert time.perf_counter() - started < SLOW_REQUEST_SECONDS
    assert len(page.find(id="tbody-employees").find_all("tr")) == 50
    data = posted_values(page)
    data.update({"new_unit_ratio": "8", "new_person_ratio": "6"})
    cells = parse_fragment(timed_post(unit_client, f"{url}/calc", data))
    own = employees(app)
    assert len(own) == large_unit
    new = [monthly_deposit(row["base"], Decimal(8), Decimal(6), 0) for row in own]
    total_unit = sum((deposit.unit for deposit in new), Decimal(0))
    total_person = sum((deposit.person for deposit in new), Decimal(0))
    assert cells.find(id="f-employee_count")["value"] == str(large_unit)
    assert cells.find(id="f-total_new_unit")["value"] == str(total_unit)
    assert cells.find(id="f-total_new_person")["value"] == str(total_person)
    # The swap carries the shown page's rows only, not thousands of cells.
    assert len(cells.select("[id^=cell-employees-]")) == 50 * 3
