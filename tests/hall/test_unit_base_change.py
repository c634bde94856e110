"""个人缴存基数变更 (unit-base-change) through the Flask test client."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import (
    UNIT_A,
    UNIT_B,
    csrf_token,
    errors_of,
    latest_sms_code,
    login_staff,
    login_unit,
    parse,
    parse_fragment,
)

from connectors.base import Caller
from engine.storage.models import Application

URL = "/unit/unit-base-change"
XLSX_LIKE_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def employees(app: Flask, unit_account: str = UNIT_A) -> list[dict[str, Any]]:
    router = app.extensions["hall"].router
    return router.call("unit.employees", Caller("unit", unit_account=unit_account), {})


def send_code(client: FlaskClient) -> None:
    token = csrf_token(client.get(URL))
    sent = client.post(
        "/sms/send", data={"csrf_token": token, "purpose": "unit-base-change"}
    )
    assert sent.status_code == 200
    assert "验证码已发送至" in sent.get_data(as_text=True)


def change_form(app: Flask, changes: dict[int, str], **extra: Any) -> dict[str, Any]:
    """Post every listed employee as the page does, with new bases for some rows."""
    data: dict[str, Any] = {"effective_month": "2027-01", "_agree": "on"}
    for index, employee in enumerate(employees(app)):
        data[f"employees-{index}-person_account"] = employee["person_account"]
        data[f"employees-{index}-base"] = changes.get(index, str(employee["base"]))
    data.update(extra)
    return data


def post(client: FlaskClient, data: dict[str, Any], with_file: bool = True) -> Any:
    token = csrf_token(client.get(URL))
    files = (
        {"wage_list": (io.BytesIO(XLSX_LIKE_PDF), "2026年工资表.pdf")}
        if with_file
        else {}
    )
    return client.post(
        URL,
        data={"csrf_token": token, **data, **files},
        content_type="multipart/form-data",
    )


def test_page_lists_own_employees(unit_client: FlaskClient, app: Flask) -> None:
    page = parse(unit_client.get(URL))
    own = employees(app)
    rows = page.find(id="tbody-employees").find_all("tr")
    assert len(rows) == len(own)
    listed = {
        row.find("input", attrs={"name": re.compile("person_account$")})["value"]
        for row in rows
    }
    assert listed == {employee["person_account"] for employee in own}
    others = {employee["person_account"] for employee in employees(app, UNIT_B)}
    assert not listed & others


def test_base_change_happy_path(unit_client: FlaskClient, app: Flask) -> None:
    send_code(unit_client)
    data = change_form(app, {1: "8000"}, _sms_code=latest_sms_code(app))
    review = post(unit_client, data)
    assert review.status_code == 200, errors_of(review)
    text = parse(review).get_text(" ", strip=True)
    assert "职工缴存基数（1 行）" in text
    assert "8,000.00" in text

    token = re.search(
        r'name="_draft" value="([^"]+)"', review.get_data(as_text=True)
    ).group(1)
    done = unit_client.post(
        f"{URL}/confirm",
        data={"csrf_token": csrf_token(unit_client.get(URL)), "_draft": token},
    )
    number = done.headers["Location"].rsplit("/", 1)[-1]
    changed = employees(app)[1]["person_account"]
    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        assert [row["person_account"] for row in stored.data["employees"]] == [changed]
        assert stored.data["employees"][0]["base"] == "8000.00"
        assert stored.data["employees"][0]["unit_deposit"] == "960.00"

    reviewer = app.test_client()
    login_staff(reviewer)
    page = reviewer.get(f"/staff/reviews/{number}")
    reviewer.post(
        f"/staff/reviews/{number}",
        data={"csrf_token": csrf_token(page), "decision": "approve"},
    )
    after = {row["person_account"]: row for row in employees(app)}
    assert str(after[changed]["base"]) == "8000.00"
    status = parse(unit_client.get(f"/unit/applications/{number}")).find(
        id="application-status"
    )
    assert status.get_text() == "审核通过"


@pytest.mark.parametrize(
    ("changes", "extra", "expected"),
    [
        # Nothing changed: there is nothing to submit.
        ({}, {"_sms_code": "000000"}, "职工缴存基数中没有修改过的行，无需提交"),
        # Below the floor: the message names the allowed range.
        (
            {0: "1000"},
            {"_sms_code": "000000"},
            "新缴存基数应在1,750.00元至21,900.00元之间",
        ),
        # No SMS code typed.
        ({0: "8000"}, {}, "请输入短信验证码"),
        # A code that was never sent.
        ({0: "8000"}, {"_sms_code": "123456"}, "短信验证码错误或已过期"),
        # Not six digits.
        ({0: "8000"}, {"_sms_code": "12ab"}, "短信验证码应为6位数字"),
    ],
)
def test_base_change_rejects(
    unit_client: FlaskClient,
    app: Flask,
    changes: dict[int, str],
    extra: dict[str, str],
    expected: str,
) -> None:
    response = post(unit_client, change_form(app, changes, **extra))
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages


def test_wage_list_required(unit_client: FlaskClient, app: Flask) -> None:
    send_code(unit_client)
    response = post(
        unit_client,
        change_form(app, {0: "8000"}, _sms_code=latest_sms_code(app)),
        with_file=False,
    )
    assert "请上传职工工资表" in errors_of(response)


def test_foreign_employee_not_submitted(unit_client: FlaskClient, app: Flask) -> None:
    foreign = employees(app, UNIT_B)[0]["person_account"]
    data = change_form(app, {0: "8000"})
    data["employees-999-person_account"] = foreign
    data["employees-999-base"] = "20000"
    send_code(unit_client)
    data["_sms_code"] = latest_sms_code(app)
    response = post(unit_client, data)
    assert response.status_code == 400
    assert any("记录不存在" in message for message in errors_of(response))
    assert foreign not in response.get_data(as_text=True)


def test_calc_shows_new_deposit(unit_client: FlaskClient, app: Flask) -> None:
    data = change_form(app, {2: "5678"})
    response = unit_client.post(
        f"{URL}/calc",
        data={
            "csrf_token": csrf_token(unit_client.get(URL)),
            "_table": "employees",
            "_row": "2",
            **data,
        },
    )
    cell = parse_fragment(response).find(id="f-employees-2-unit_deposit")
    # D2 at 12%: 5,678 x 12% = 681.36, whole yuan.
    assert cell["value"] == "681.00"
