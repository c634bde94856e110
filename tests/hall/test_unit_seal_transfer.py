"""职工封存转移 (unit-seal-transfer) and 职工账户转移查询 (unit-transfers)."""

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
from unit_flow import confirm, decide, pdf, post_service, submit
from werkzeug.test import TestResponse

from connectors.embedded.models import Account, LedgerEntry, Person, Transfer, Unit
from engine.money import format_yuan
from engine.storage.models import Application

SERVICE = "unit-seal-transfer"
URL = f"/unit/{SERVICE}"
NOT_AN_EMPLOYEE = "该证件号码不是本单位职工，请核对"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def employee(app: Flask, unit_account: str, status: str = "01") -> dict[str, Any]:
    """Return the last account of a unit with `status`, and its person's details."""
    with app.extensions["hall"].session_factory() as session:
        account, person, unit = session.execute(
            select(Account, Person, Unit)
            .join(Person, Account.person_id == Person.id)
            .join(Unit, Account.unit_id == Unit.id)
            .where(Unit.unit_account == unit_account, Account.status == status)
            .order_by(Account.person_account.desc())
        ).first()
        return {
            "id": account.id,
            "person_account": account.person_account,
            "balance": account.balance,
            "id_number": person.id_number,
            "name": person.name,
            "unit_name": unit.name,
        }


def unit_name(app: Flask, unit_account: str) -> str:
    with app.extensions["hall"].session_factory() as session:
        return session.scalar(
            select(Unit.name).where(Unit.unit_account == unit_account)
        )


def form(id_number: str, **changes: Any) -> dict[str, Any]:
    data = {
        "action": "transfer",
        "target_unit_account": UNIT_B,
        "effective_month": "2027-01",
        "reason": "reassigned",
        "employees-0-_row": "1",
        "employees-0-id_number": id_number,
        "_agree": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def files() -> dict[str, Any]:
    return {"leaving_certificate": pdf("调动证明.pdf")}


def lookup(client: FlaskClient, name: str, data: dict[str, str]) -> Any:
    token = csrf_token(client.get(URL))
    response = client.post(
        f"{URL}/lookup/{name}",
        data={"csrf_token": token, **data},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    return parse_fragment(response)


def table(response: TestResponse) -> list[list[str]]:
    found = parse(response).select_one("table.result-table")
    rows = []
    for row in found.select("tbody tr"):
        cells = [cell.get_text(strip=True) for cell in row.find_all("td")]
        if cells != ["没有符合条件的记录"]:
            rows.append(cells)
    return rows


# Back-fill ----------------------------------------------------------------------------


def test_target_unit_name_backfilled(unit_client: FlaskClient, app: Flask) -> None:
    data = {"action": "transfer", "target_unit_account": UNIT_B}
    cells = lookup(unit_client, "target_unit", data)
    assert cells.find(id="f-target_unit_name")["value"] == unit_name(app, UNIT_B)


@pytest.mark.parametrize(
    ("account", "message"),
    [
        # No unit has this account number.
        ("0201999999", "未找到该单位账号，请核对转入单位账号"),
        # A unit cannot transfer to itself.
        (UNIT_A, "转入单位不能是本单位"),
    ],
)
def test_target_unit_not_found(
    unit_client: FlaskClient, account: str, message: str
) -> None:
    data = {"action": "transfer", "target_unit_account": account}
    cells = lookup(unit_client, "target_unit", data)
    assert cells.find(id="f-target_unit_name")["value"] == ""
    assert cells.find(id="err-target_unit_account").get_text() == message


def test_employee_backfilled(unit_client: FlaskClient, app: Flask) -> None:
    leaving = employee(app, UNIT_A)
    data = {
        "_row": "0",
        "action": "transfer",
        "employees-0-_row": "1",
        "employees-0-id_number": leaving["id_number"],
    }
    cells = lookup(unit_client, "employee", data)
    assert cells.find(id="f-employees-0-name")["value"] == leaving["name"]
    assert (
        cells.find(id="f-employees-0-person_account")["value"]
        == leaving["person_account"]
    )
    assert cells.find(id="f-employees-0-balance")["value"] == str(leaving["balance"])
    assert cells.find(id="f-employees-0-status_label")["value"] == "正常"


def test_other_units_employee_not_backfilled(
    unit_client: FlaskClient, app: Flask
) -> None:
    foreign = employee(app, UNIT_B)
    data = {
        "_row": "0",
        "employees-0-_row": "1",
        "employees-0-id_number": foreign["id_number"],
    }
    cells = lookup(unit_client, "employee", data)
    assert cells.find(id="f-employees-0-name")["value"] == ""
    assert cells.find(id="err-employees-0-id_number").get_text() == NOT_AN_EMPLOYEE


# Transfer and seal end to end ---------------------------------------------------------


def test_transfer_moves_account_after_approval(
    unit_client: FlaskClient, app: Flask
) -> None:
    leaving = employee(app, UNIT_A)
    review = post_service(unit_client, SERVICE, form(leaving["id_number"]), files())
    text = parse(review).get_text(" ", strip=True)
    assert unit_name(app, UNIT_B) in text
    assert leaving["name"] in text
    number = confirm(unit_client, SERVICE, review)

    pending = table(unit_client.get("/unit/unit-transfers"))
    assert [row[0] for row in pending] == ["转出"]
    assert pending[0][8] == "待审核"
    assert pending[0][9] == number

    decide(app, number)
    with app.extensions["hall"].session_factory() as session:
        account = session.get(Account, leaving["id"])
        unit_b = session.scalars(select(Unit).where(Unit.unit_account == UNIT_B)).one()
        assert account.unit_id == unit_b.id
        assert account.status == "01"
        assert account.balance == leaving["balance"]
        transfer = session.scalars(select(Transfer)).one()
        assert transfer.amount == leaving["balance"]
        assert transfer.application_number == number
        unit_entries = session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.entry_type.in_(("05", "06")),
                LedgerEntry.unit_id.is_not(None),
            )
        ).all()
        unit_a = session.scalars(select(Unit).where(Unit.unit_account == UNIT_A)).one()
        # The source unit books the transfer out, the target unit the transfer in.
        assert {entry.entry_type: entry.unit_id for entry in unit_entries} == {
            "06": unit_a.id,
            "05": unit_b.id,
        }
        assert {entry.debit + entry.credit for entry in unit_entries} == {
            leaving["balance"]
        }

    done = table(unit_client.get("/unit/unit-transfers"))
    assert len(done) == 1
    assert done[0][0] == "转出"
    assert done[0][4] == leaving["unit_name"]
    assert done[0][5] == unit_name(app, UNIT_B)
    assert done[0][6] == format_yuan(leaving["balance"])
    assert done[0][8] == "已转移"

    target = app.test_client()
    login_unit(target, app, UNIT_B)
    incoming = table(target.get("/unit/unit-transfers"))
    assert [row[0] for row in incoming] == ["转入"]
    employees_b = target.get(
        "/unit/unit-employees",
        query_string={"run": "1", "person_account": leaving["person_account"]},
    )
    assert [row[0] for row in table(employees_b)] == [leaving["person_account"]]

    gone = unit_client.get(
        "/unit/unit-employee-ledger",
        query_string={
            "run": "1",
            "id_number": leaving["id_number"],
            "month_from": "2026-01",
            "month_to": "2026-12",
        },
    )
    assert errors_of(gone) == [NOT_AN_EMPLOYEE]
    changes = unit_client.get(
        "/unit/unit-deposit-changes",
        query_string={
            "run": "1",
            "change_type": "transfer",
            "month_from": "2027-01",
            "month_to": "2027-01",
        },
    )
    assert [row[2] for row in table(changes)] == [leaving["person_account"]]


def test_seal_stops_deposits_after_approval(
    unit_client: FlaskClient, app: Flask
) -> None:
    leaving = employee(app, UNIT_A)
    data = form(leaving["id_number"], action="seal", target_unit_account=None)
    number = submit(unit_client, SERVICE, data, files())
    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        assert "target_unit_account" not in stored.data
    decide(app, number)

    listed = table(
        unit_client.get(
            "/unit/unit-employees",
            query_string={"run": "1", "person_account": leaving["person_account"]},
        )
    )
    assert listed[0][8] == "封存"
    # A sealed account takes no monthly deposit.
    assert listed[0][5] == "0.00"
    changes = table(
        unit_client.get(
            "/unit/unit-deposit-changes",
            query_string={
                "run": "1",
                "change_type": "seal",
                "month_from": "2027-01",
                "month_to": "2027-01",
            },
        )
    )
    assert [(row[2], row[5], row[6]) for row in changes] == [
        (leaving["person_account"], "正常", "封存")
    ]
    assert table(unit_client.get("/unit/unit-transfers")) == []


def test_returned_application_keeps_account(
    unit_client: FlaskClient, app: Flask
) -> None:
    leaving = employee(app, UNIT_A)
    number = submit(unit_client, SERVICE, form(leaving["id_number"]), files())
    decide(app, number, "return", "调动证明缺少公章")
    detail = unit_client.get(f"/unit/applications/{number}").get_data(as_text=True)
    assert "调动证明缺少公章" in detail
    with app.extensions["hall"].session_factory() as session:
        assert session.get(Account, leaving["id"]).status == "01"
        assert session.scalars(select(Transfer)).first() is None


# Validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # No ID number in the row.
        ({"employees-0-id_number": ""}, "请填写证件号码"),
        # ID2: a wrong check character.
        ({"employees-0-id_number": "110105199001010011"}, "证件号码校验位不正确"),
        # A transfer needs the target unit.
        ({"target_unit_account": ""}, "请填写转入单位账号"),
        # Letters in the target unit account.
        ({"target_unit_account": "02010000AB"}, "转入单位账号应为10位数字"),
        # No unit has this account number.
        ({"target_unit_account": "0201999999"}, "未找到该单位账号"),
        # The unit itself.
        ({"target_unit_account": UNIT_A}, "转入单位不能是本单位"),
        # No reason chosen.
        ({"reason": ""}, "请选择原因"),
        # A reason that is not offered.
        ({"reason": "bonus"}, "原因的选项无效"),
        # A month that does not exist.
        ({"effective_month": "2027-13"}, "生效月份应为月份"),
        # The commitment is not accepted.
        ({"_agree": None}, "请阅读并同意《单位承诺书》"),
    ],
)
def test_rejects_bad_input(
    unit_client: FlaskClient, app: Flask, changes: dict[str, Any], expected: str
) -> None:
    leaving = employee(app, UNIT_A)
    response = post_service(
        unit_client, SERVICE, form(leaving["id_number"], **changes), files()
    )
    assert response.status_code == 400
    messages = errors_of(response)
    assert any(expected in message for message in messages), messages


def test_rejects_other_units_employee(unit_client: FlaskClient, app: Flask) -> None:
    foreign = employee(app, UNIT_B)
    response = post_service(unit_client, SERVICE, form(foreign["id_number"]), files())
    assert response.status_code == 400
    assert any(NOT_AN_EMPLOYEE in message for message in errors_of(response))
    assert foreign["name"] not in response.get_data(as_text=True)


def test_rejects_sealing_a_sealed_account(unit_client: FlaskClient, app: Flask) -> None:
    sealed = employee(app, UNIT_A, status="02")
    data = form(sealed["id_number"], action="seal", target_unit_account=None)
    response = post_service(unit_client, SERVICE, data, files())
    assert response.status_code == 400
    assert any("账户状态为封存，不能办理封存" in m for m in errors_of(response))


def test_sealed_account_may_transfer(unit_client: FlaskClient, app: Flask) -> None:
    sealed = employee(app, UNIT_A, status="02")
    number = submit(unit_client, SERVICE, form(sealed["id_number"]), files())
    decide(app, number)
    with app.extensions["hall"].session_factory() as session:
        account = session.get(Account, sealed["id"])
        assert account.status == "01"
        moved_to = session.scalar(
            select(Unit.unit_account).where(Unit.id == account.unit_id)
        )
        assert moved_to == UNIT_B


def test_leaving_certificate_required(unit_client: FlaskClient, app: Flask) -> None:
    leaving = employee(app, UNIT_A)
    response = post_service(unit_client, SERVICE, form(leaving["id_number"]), {})
    assert response.status_code == 400
    assert "请上传解除劳动关系证明或调动证明" in errors_of(response)


def test_rejects_the_units_handler(unit_client: FlaskClient, app: Flask) -> None:
    with app.extensions["hall"].session_factory() as session:
        handler_id = session.scalar(
            select(Person.id_number)
            .join(Account, Account.person_id == Person.id)
            .join(Unit, Unit.handler_person_account == Account.person_account)
            .where(Unit.unit_account == UNIT_A)
        )
    data = form(handler_id, action="seal", target_unit_account=None)
    response = post_service(unit_client, SERVICE, data, files())
    assert response.status_code == 400
    message = "该职工是本单位经办人，请先在单位信息变更中更换经办人"
    assert any(message in item for item in errors_of(response))
