"""个人基本信息变更 (unit-employee-change) through the Flask test client."""

from __future__ import annotations

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
    login_unit,
    parse,
    parse_fragment,
)
from unit_flow import decide, pdf, post_service, submit

from connectors.embedded.models import Account, Person, Unit
from engine.storage.models import Application

SERVICE = "unit-employee-change"
URL = f"/unit/{SERVICE}"
NOT_AN_EMPLOYEE = "该证件号码不是本单位职工，请核对"
VALID_CARD = "6217000000000000004"  # B1


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def employee(app: Flask, unit_account: str) -> dict[str, Any]:
    with app.extensions["hall"].session_factory() as session:
        account, person = session.execute(
            select(Account, Person)
            .join(Person, Account.person_id == Person.id)
            .join(Unit, Account.unit_id == Unit.id)
            .where(Unit.unit_account == unit_account, Account.status == "01")
            .order_by(Account.person_account.desc())
        ).first()
        return {
            "person_id": person.id,
            "person_account": account.person_account,
            "id_number": person.id_number,
            "name": person.name,
            "mobile": person.mobile,
            "address": person.address,
            "bank_card": person.bank_card,
        }


def form(found: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = {
        "id_number": found["id_number"],
        "name": found["name"],
        "mobile": "13712345678",
        "address": found["address"],
        "bank_card": found["bank_card"],
        "reason": "职工更换手机号码",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def files() -> dict[str, Any]:
    return {"proof": pdf("身份证.pdf")}


def lookup(client: FlaskClient, id_number: str) -> Any:
    token = csrf_token(client.get(URL))
    response = client.post(
        f"{URL}/lookup/employee",
        data={"csrf_token": token, "id_number": id_number},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    return parse_fragment(response)


def test_lookup_backfills_details(unit_client: FlaskClient, app: Flask) -> None:
    found = employee(app, UNIT_A)
    cells = lookup(unit_client, found["id_number"].lower())
    assert cells.find(id="f-person_account")["value"] == found["person_account"]
    assert cells.find(id="f-name")["value"] == found["name"]
    assert cells.find(id="f-mobile")["value"] == found["mobile"]
    assert cells.find(id="f-address")["value"] == found["address"]
    assert cells.find(id="f-bank_card")["value"] == found["bank_card"]
    assert cells.find(id="f-status_label")["value"] == "正常"


def test_lookup_hides_other_units_employee(
    unit_client: FlaskClient, app: Flask
) -> None:
    foreign = employee(app, UNIT_B)
    cells = lookup(unit_client, foreign["id_number"])
    assert cells.find(id="err-id_number").get_text() == NOT_AN_EMPLOYEE
    assert cells.find(id="f-person_account")["value"] == ""
    assert foreign["mobile"] not in str(cells)


def test_change_applies_after_approval(unit_client: FlaskClient, app: Flask) -> None:
    found = employee(app, UNIT_A)
    data = form(found, name="王小明", bank_card=VALID_CARD)
    review = post_service(unit_client, SERVICE, data, files())
    assert review.status_code == 200, errors_of(review)
    text = parse(review).get_text(" ", strip=True)
    # What the user typed survives the server's back-fill of the same fields.
    assert "王小明" in text
    assert "13712345678" in text
    number = submit(unit_client, SERVICE, data, files())
    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        assert stored.data["name"] == "王小明"

    decide(app, number)
    with app.extensions["hall"].session_factory() as session:
        person = session.get(Person, found["person_id"])
        assert person.name == "王小明"
        assert person.mobile == "13712345678"
        assert person.bank_card == VALID_CARD
    listed = unit_client.get(
        "/unit/unit-employees",
        query_string={"run": "1", "person_account": found["person_account"]},
    )
    row = parse(listed).select_one("table.result-table tbody tr")("td")
    assert row[1].get_text(strip=True) == "王小明"


def test_returned_change_leaves_details(unit_client: FlaskClient, app: Flask) -> None:
    found = employee(app, UNIT_A)
    number = submit(unit_client, SERVICE, form(found), files())
    decide(app, number, "return", "请补充手机号码实名证明")
    page = unit_client.get(f"/unit/applications/{number}").get_data(as_text=True)
    assert "请补充手机号码实名证明" in page
    with app.extensions["hall"].session_factory() as session:
        assert session.get(Person, found["person_id"]).mobile == found["mobile"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # A name longer than 30 characters.
        ({"name": "名" * 31}, "姓名最多30个字符"),
        # A mobile starting with 12.
        ({"mobile": "12712345678"}, "手机号码应为11位手机号码"),
        # B2: a card number failing the Luhn check.
        ({"bank_card": "6217000000000000001"}, "银行卡号校验位不正确"),
        # Too short to be a card number.
        ({"bank_card": "62170000"}, "银行卡号应为16至19位数字"),
        # No reason given.
        ({"reason": ""}, "请填写变更原因"),
        # ID2: a wrong check character.
        ({"id_number": "110105199001010011"}, "证件号码校验位不正确"),
    ],
)
def test_rejects_bad_input(
    unit_client: FlaskClient, app: Flask, changes: dict[str, Any], expected: str
) -> None:
    response = post_service(
        unit_client, SERVICE, form(employee(app, UNIT_A), **changes), files()
    )
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages


def test_rejects_other_units_employee(unit_client: FlaskClient, app: Flask) -> None:
    foreign = employee(app, UNIT_B)
    response = post_service(unit_client, SERVICE, form(foreign), files())
    assert response.status_code == 400
    assert NOT_AN_EMPLOYEE in errors_of(response)


def test_proof_required(unit_client: FlaskClient, app: Flask) -> None:
    response = post_service(unit_client, SERVICE, form(employee(app, UNIT_A)), {})
    assert response.status_code == 400
    assert any("请上传变更证明材料" in message for message in errors_of(response))


def test_unchanged_details_returned_by_core(
    unit_client: FlaskClient, app: Flask
) -> None:
    found = employee(app, UNIT_A)
    number = submit(unit_client, SERVICE, form(found, mobile=found["mobile"]), files())
    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        assert stored.status == "returned"
        assert stored.comment == "没有修改任何信息，无需提交"
