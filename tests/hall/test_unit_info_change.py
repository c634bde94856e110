"""单位信息变更 (unit-info-change) through the Flask test client."""

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
from unit_flow import confirm, decide, pdf, post_service, sms_code, submit

from connectors.base import Caller
from connectors.embedded.models import Account, Person, Unit
from engine.storage.models import Application

SERVICE = "unit-info-change"
URL = f"/unit/{SERVICE}"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def details(app: Flask, unit_account: str = UNIT_A) -> dict[str, Any]:
    router = app.extensions["hall"].router
    return router.call("unit.details", Caller("unit", unit_account=unit_account), {})


def another_employee(app: Flask, unit_account: str, status: str = "01") -> Person:
    """Return a person of the unit who is not its handler."""
    with app.extensions["hall"].session_factory() as session:
        unit = session.scalars(
            select(Unit).where(Unit.unit_account == unit_account)
        ).one()
        return session.scalars(
            select(Person)
            .join(Account, Account.person_id == Person.id)
            .where(
                Account.unit_id == unit.id,
                Account.status == status,
                Account.person_account != unit.handler_person_account,
            )
            .order_by(Account.person_account.desc())
        ).first()


def form(app: Flask, client: FlaskClient, **changes: Any) -> dict[str, Any]:
    data = {key: value for key, value in details(app).items() if key != "unit_name"}
    data.pop("handler_name")
    data["_sms_code"] = sms_code(client, app, SERVICE)
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def files() -> dict[str, Any]:
    return {"business_licence": pdf("营业执照.pdf")}


def test_page_prefills_current_details(unit_client: FlaskClient, app: Flask) -> None:
    page = parse(unit_client.get(URL))
    current = details(app)
    names = ("address", "postcode", "legal_rep", "bank_account", "handler_mobile")
    for name in names:
        assert page.find(id=f"f-{name}")["value"] == current[name], name
    assert page.find(id="f-handler_name")["value"] == current["handler_name"]
    assert page.find(id="f-debit_day")["value"] == current["debit_day"]


def test_change_applies_after_approval(unit_client: FlaskClient, app: Flask) -> None:
    data = form(app, unit_client, address="韶关市武江区芙蓉北路 1 号", debit_day="25")
    review = post_service(unit_client, SERVICE, data, files())
    assert review.status_code == 200, errors_of(review)
    assert "韶关市武江区芙蓉北路 1 号" in parse(review).get_text(" ", strip=True)
    number = confirm(unit_client, SERVICE, review)
    decide(app, number)
    with app.extensions["hall"].session_factory() as session:
        unit = session.scalars(select(Unit).where(Unit.unit_account == UNIT_A)).one()
        assert unit.address == "韶关市武江区芙蓉北路 1 号"
        assert unit.debit_day == 25
    card = parse(unit_client.get("/unit/unit-info"))
    assert card.select_one("dd[data-name=debit_day]").get_text() == "25"


def test_new_handler_backfilled_and_applied(
    unit_client: FlaskClient, app: Flask
) -> None:
    person = another_employee(app, UNIT_A)
    token = csrf_token(unit_client.get(URL))
    cells = parse_fragment(
        unit_client.post(
            f"{URL}/lookup/handler",
            data={"csrf_token": token, "handler_id_number": person.id_number},
        )
    )
    assert cells.find(id="f-handler_name")["value"] == person.name
    assert cells.find(id="f-handler_mobile")["value"] == person.mobile

    data = form(
        app,
        unit_client,
        handler_id_number=person.id_number,
        handler_mobile="13612345678",
    )
    number = submit(unit_client, SERVICE, data, files())
    decide(app, number)
    card = parse(unit_client.get("/unit/unit-info"))
    assert card.select_one("dd[data-name=handler_name]").get_text() == person.name
    assert card.select_one("dd[data-name=handler_mobile]").get_text() == "13612345678"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Five digits are not a postcode.
        ({"postcode": "51202"}, "邮政编码应为6位数字"),
        # A day some months do not have.
        ({"debit_day": "31"}, "每月托收日应在1至28之间"),
        # Letters in a bank account number.
        ({"bank_account": "4400ABC0000000"}, "托收银行账号应为10至30位数字"),
        # ID2 as the legal representative's ID number.
        (
            {"legal_rep_id_number": "110105199001010011"},
            "法定代表人证件号码校验位不正确",
        ),
        # A mobile starting with 12.
        ({"handler_mobile": "12612345678"}, "经办人手机号码应为11位手机号码"),
        # Letters in the phone number.
        ({"phone": "0751-ABCDEFG"}, "单位电话应为数字"),
        # A wrong SMS code.
        ({"_sms_code": "000000"}, "短信验证码错误或已过期"),
    ],
)
def test_rejects_bad_input(
    unit_client: FlaskClient, app: Flask, changes: dict[str, Any], expected: str
) -> None:
    data = form(app, unit_client, **changes)
    response = post_service(unit_client, SERVICE, data, files())
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages


def test_handler_from_other_unit_rejected(unit_client: FlaskClient, app: Flask) -> None:
    foreign = another_employee(app, UNIT_B)
    data = form(app, unit_client, handler_id_number=foreign.id_number)
    response = post_service(unit_client, SERVICE, data, files())
    assert response.status_code == 400
    assert "该证件号码不是本单位职工，请核对" in errors_of(response)
    assert foreign.name not in response.get_data(as_text=True)


def test_sealed_employee_cannot_be_handler(
    unit_client: FlaskClient, app: Flask
) -> None:
    sealed = another_employee(app, UNIT_A, status="02")
    data = form(app, unit_client, handler_id_number=sealed.id_number)
    response = post_service(unit_client, SERVICE, data, files())
    assert response.status_code == 400
    assert "经办人须为本单位正常缴存的职工" in errors_of(response)


def test_licence_required(unit_client: FlaskClient, app: Flask) -> None:
    response = post_service(unit_client, SERVICE, form(app, unit_client), {})
    assert response.status_code == 400
    assert "请上传营业执照" in errors_of(response)


def test_unchanged_details_returned(unit_client: FlaskClient, app: Flask) -> None:
    number = submit(unit_client, SERVICE, form(app, unit_client), files())
    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        assert stored.status == "returned"
        assert stored.comment == "没有修改任何信息，无需提交"
