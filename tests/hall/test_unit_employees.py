"""单位下个人基本信息查询 (unit-employees) through the Flask test client."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from support import UNIT_A, UNIT_B, errors_of, login_unit, parse
from werkzeug.test import TestResponse

from connectors.embedded.demo_data import DEMO_ID_NUMBER
from connectors.embedded.models import Account, Person, Unit

URL = "/unit/unit-employees"
DEMO_ACCOUNT = "020100000001"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def core_accounts(app: Flask, unit_account: str) -> list[tuple[Account, Person]]:
    with app.extensions["hall"].session_factory() as session:
        unit_id = session.scalar(
            select(Unit.id).where(Unit.unit_account == unit_account)
        )
        rows = session.execute(
            select(Account, Person)
            .join(Person, Account.person_id == Person.id)
            .where(Account.unit_id == unit_id)
            .order_by(Account.person_account)
        ).all()
        return [(account, person) for account, person in rows]


def total(response: TestResponse) -> int:
    return int(parse(response).select_one("p.count").get_text().split()[1])


def first_column(response: TestResponse) -> list[str]:
    table = parse(response).select_one("table.result-table")
    cells = [row.find("td").get_text(strip=True) for row in table.select("tbody tr")]
    return [cell for cell in cells if cell != "没有符合条件的记录"]


def run(client: FlaskClient, **args: str) -> TestResponse:
    return client.get(URL, query_string={"run": "1", **args})


def test_lists_every_own_account(unit_client: FlaskClient, app: Flask) -> None:
    response = unit_client.get(URL)
    assert response.status_code == 200
    own = core_accounts(app, UNIT_A)
    assert total(response) == len(own)
    assert first_column(response) == [a.person_account for a, _p in own[:20]]
    statuses = {account.status for account, _person in own}
    # Sealed accounts are listed too, not only the depositing ones.
    assert "02" in statuses


@pytest.mark.parametrize(
    ("args", "check"),
    [
        # One account by its number.
        (
            {"person_account": DEMO_ACCOUNT},
            lambda a, p: a.person_account == DEMO_ACCOUNT,
        ),
        # Part of a name: the surname of the demo depositor.
        ({"name": "陈"}, lambda a, p: "陈" in p.name),
        # Sealed accounts only.
        ({"status": "02"}, lambda a, p: a.status == "02"),
        # A lower-case x is read as the upper-case check character.
        (
            {"id_number": DEMO_ID_NUMBER.lower()},
            lambda a, p: p.id_number == DEMO_ID_NUMBER,
        ),
    ],
)
def test_filters(
    unit_client: FlaskClient, app: Flask, args: dict[str, str], check: Any
) -> None:
    response = run(unit_client, **args)
    assert response.status_code == 200
    expected = [a.person_account for a, p in core_accounts(app, UNIT_A) if check(a, p)]
    assert expected
    assert total(response) == len(expected)
    assert first_column(response) == expected[:20]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # An account number with letters.
        ({"person_account": "0201ABC00001"}, "个人账号应为12位数字"),
        # ID2: a wrong check character.
        ({"id_number": "110105199001010011"}, "证件号码校验位不正确，请核对后重新输入"),
        # A status code the core does not have.
        ({"status": "42"}, "账户状态的选项无效，请从列表中选择"),
        # A name longer than any real one.
        ({"name": "名" * 31}, "姓名最多30个字符"),
    ],
)
def test_rejects_bad_filters(
    unit_client: FlaskClient, args: dict[str, str], message: str
) -> None:
    response = run(unit_client, **args)
    assert response.status_code == 400
    assert errors_of(response) == [message]
    assert parse(response).select_one("table.result-table") is None


def test_other_units_employees_not_found(unit_client: FlaskClient, app: Flask) -> None:
    foreign_account, foreign_person = core_accounts(app, UNIT_B)[0]
    by_account = run(unit_client, person_account=foreign_account.person_account)
    by_id = run(unit_client, id_number=foreign_person.id_number)
    assert total(by_account) == 0
    assert total(by_id) == 0
    assert foreign_person.name not in by_id.get_data(as_text=True)


def test_exports_keep_identifiers_as_text(unit_client: FlaskClient, app: Flask) -> None:
    args = {"run": "1", "id_number": DEMO_ID_NUMBER}
    exported = unit_client.get(f"{URL}/export.csv", query_string=args)
    raw = exported.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["个人账号", "姓名", "证件号码"]
    assert rows[1][0] == DEMO_ACCOUNT
    assert rows[1][2] == DEMO_ID_NUMBER

    workbook = unit_client.get(f"{URL}/export.xlsx", query_string=args)
    sheet = load_workbook(io.BytesIO(workbook.get_data())).active
    account, _name, id_number = next(sheet.iter_rows(min_row=2, max_col=3))
    assert account.value == DEMO_ACCOUNT
    assert account.data_type == "s"
    assert id_number.value == DEMO_ID_NUMBER
    assert id_number.number_format == "@"


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_export_named_after_title(unit_client: FlaskClient, extension: str) -> None:
    response = unit_client.get(f"{URL}/export.{extension}", query_string={"run": "1"})
    encoded = quote(f"单位下个人基本信息查询.{extension}", safe="")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="unit-employees.{extension}"; '
        f"filename*=UTF-8''{encoded}"
    )


def test_paging_and_sorting(unit_client: FlaskClient, app: Flask) -> None:
    own = core_accounts(app, UNIT_A)
    second = run(unit_client, page="2")
    assert first_column(second) == [a.person_account for a, _p in own[20:40]]
    by_balance = run(unit_client, sort="balance", dir="desc")
    richest = max(own, key=lambda pair: pair[0].balance)[0]
    assert first_column(by_balance)[0] == richest.person_account
