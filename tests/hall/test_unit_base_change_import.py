"""Importing new deposit bases from an xlsx file in 个人缴存基数变更."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from support import UNIT_A, UNIT_B, csrf_token, errors_of, login_unit, parse
from unit_flow import confirm, decide, pdf, sms_code

from connectors.base import Caller
from connectors.embedded import finance
from connectors.embedded.models import Account, Person, Unit
from engine.row_import import UNPACKED_BYTES_PER_CELL, max_unpacked_bytes
from engine.storage.models import Application

URL = "/unit/unit-base-change"
IMPORT_URL = f"{URL}/rows/employees/import"
TEMPLATE_URL = f"{URL}/rows/employees/template.xlsx"
HEADER = ["个人账号", "姓名", "证件号码", "现缴存基数", "新缴存基数"]
# 300 employees with Chinese names and full ID numbers, written as CSV with the
# template's header and saved as xlsx by LibreOffice Calc 7.4 with the first three
# columns as text (benchmarks/libreoffice_import_size.py --rows 300).
CALC_FILE = Path(__file__).parent.parent / "fixtures" / "base-change-calc-300.xlsx"
CALC_ROWS = 300


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def employees(app: Flask, unit_account: str = UNIT_A) -> list[dict[str, Any]]:
    router = app.extensions["hall"].router
    return router.call("unit.employees", Caller("unit", unit_account=unit_account), {})


def workbook_bytes(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER if header is None else header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(
    client: FlaskClient, content: bytes, name: str = "基数.xlsx", **extra: Any
) -> Any:
    token = csrf_token(client.get(URL))
    return client.post(
        IMPORT_URL,
        data={
            "csrf_token": token,
            "effective_month": "2027-01",
            "_action": "import",
            "_import_employees": (io.BytesIO(content), name),
            **extra,
        },
        content_type="multipart/form-data",
    )


def import_errors(response: Any) -> list[str]:
    box = parse(response).find(id="import-errors-employees")
    assert box is not None, "the page lists no import errors"
    return [item.get_text(strip=True) for item in box.find_all("li")]


def draft_token(response: Any) -> str:
    found = parse(response).find(id="draft-token")
    assert found is not None
    return found["value"]


def stored_bases(app: Flask) -> dict[str, Decimal]:
    return {row["person_account"]: Decimal(row["base"]) for row in employees(app)}


def test_template_has_text_cells(unit_client: FlaskClient, app: Flask) -> None:
    response = unit_client.get(TEMPLATE_URL)
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = list(sheet.iter_rows())
    assert [cell.value for cell in rows[0]] == HEADER
    own = employees(app)
    assert len(rows) == len(own) + 1
    first = rows[1]
    assert first[0].value == own[0]["person_account"]
    # Account and (masked) ID numbers are text cells formatted as text.
    assert first[0].data_type == "s"
    assert first[0].number_format == "@"
    assert first[2].data_type == "s"
    assert first[2].number_format == "@"
    assert first[3].data_type == "n"
    assert Decimal(str(first[3].value)) == Decimal(own[0]["base"])
    assert first[4].value is None


def test_template_needs_login(client: FlaskClient) -> None:
    response = client.get(TEMPLATE_URL)
    assert response.status_code in (302, 401, 403)


def test_import_submit_approve(unit_client: FlaskClient, app: Flask) -> None:
    own = employees(app)
    rows = [
        [own[0]["person_account"], "", "", "", "8000"],
        [own[1]["person_account"], "", "", "", 9000.5],
        # Same base as now: read, but no change.
        [own[2]["person_account"], "", "", "", str(own[2]["base"])],
        # An empty new base: read, but no change.
        [own[3]["person_account"], "", "", "", None],
    ]
    imported = upload(unit_client, workbook_bytes(rows))
    assert imported.status_code == 200, errors_of(imported)
    page = parse(imported)
    assert page.find(id="import-read-employees").get_text() == "4"
    assert page.find(id="import-changed-employees").get_text() == "2"
    shown = page.find(id="tbody-employees").find_all("tr")
    assert len(shown) == 2
    # D2 at 12%: 8,000 x 12% = 960 and 9,000.50 x 12% = 1,080.06, whole yuan.
    total = page.find(id="import-total-employees-unit_deposit").get_text()
    assert total == "2,040.00"

    token = draft_token(imported)
    data = {
        "csrf_token": csrf_token(unit_client.get(URL)),
        "_draft": token,
        "effective_month": "2027-01",
        "_agree": "on",
        "_action": "submit",
        "_sms_code": sms_code(unit_client, app, "unit-base-change"),
        "wage_list": pdf("工资表.pdf"),
    }
    review = unit_client.post(URL, data=data, content_type="multipart/form-data")
    assert "职工缴存基数（2 行）" in parse(review).get_text(" ", strip=True)
    number = confirm(unit_client, "unit-base-change", review)
    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        accounts = {row["person_account"] for row in stored.data["employees"]}
    assert accounts == {own[0]["person_account"], own[1]["person_account"]}

    decide(app, number)
    after = stored_bases(app)
    assert after[own[0]["person_account"]] == Decimal("8000.00")
    assert after[own[1]["person_account"]] == Decimal("9000.50")
    assert after[own[2]["person_account"]] == Decimal(own[2]["base"])


def test_import_survives_a_page_turn(unit_client: FlaskClient, app: Flask) -> None:
    own = employees(app)
    imported = upload(
        unit_client, workbook_bytes([[own[0]["person_account"], "", "", "", "8000"]])
    )
    data = {
        "csrf_token": csrf_token(unit_client.get(URL)),
        "_draft": draft_token(imported),
        "effective_month": "2027-01",
        "_action": "send_code",
    }
    again = unit_client.post(URL, data=data, content_type="multipart/form-data")
    assert again.status_code == 200
    assert parse(again).find(id="import-changed-employees").get_text() == "1"


def test_discard_import(unit_client: FlaskClient, app: Flask) -> None:
    own = employees(app)
    imported = upload(
        unit_client, workbook_bytes([[own[0]["person_account"], "", "", "", "8000"]])
    )
    discarded = unit_client.post(
        IMPORT_URL,
        data={
            "csrf_token": csrf_token(unit_client.get(URL)),
            "_draft": draft_token(imported),
            "_action": "discard_import",
        },
        content_type="multipart/form-data",
    )
    assert discarded.status_code == 200
    page = parse(discarded)
    assert page.find(id="import-summary-employees") is None
    assert len(page.find(id="tbody-employees").find_all("tr")) == len(own)


BAD_ROWS = [
    # Below the policy floor: the row table's own check and message.
    (["OWN0", "", "", "", "1000"], "第 2 行「新缴存基数」：新缴存基数应在"),
    # Three decimals: the money format check.
    (["OWN0", "", "", "", "8000.123"], "第 2 行「新缴存基数」：新缴存基数"),
    # Not a number at all.
    (["OWN0", "", "", "", "八千"], "第 2 行「新缴存基数」：新缴存基数应为金额"),
    # An account number that no unit has.
    (
        ["020199999999", "", "", "", "8000"],
        "第 2 行「个人账号」：职工缴存基数中没有个人账号 020199999999",
    ),
    # An account typed as a number loses its leading zero.
    ([20100000001, "", "", "", "8000"], "第 2 行「个人账号」：个人账号应为文本单元格"),
    # A row with a new base and no account.
    ([None, "", "", "", "8000"], "第 2 行「个人账号」：请填写个人账号"),
]


@pytest.mark.parametrize(("row", "expected"), BAD_ROWS)
def test_import_bad_row(
    unit_client: FlaskClient, app: Flask, row: list[Any], expected: str
) -> None:
    own = employees(app)
    row = [own[0]["person_account"] if cell == "OWN0" else cell for cell in row]
    response = upload(unit_client, workbook_bytes([row]))
    assert response.status_code == 400
    messages = import_errors(response)
    assert any(message.startswith(expected) for message in messages), messages


def test_import_duplicate_account(unit_client: FlaskClient, app: Flask) -> None:
    account = employees(app)[0]["person_account"]
    rows = [[account, "", "", "", "8000"], [account, "", "", "", "9000"]]
    messages = import_errors(upload(unit_client, workbook_bytes(rows)))
    assert messages == [f"第 3 行「个人账号」：个人账号 {account} 与第 2 行重复"]


def test_foreign_account_reads_as_unknown(unit_client: FlaskClient, app: Flask) -> None:
    foreign = employees(app, UNIT_B)[0]["person_account"]
    messages = import_errors(
        upload(unit_client, workbook_bytes([[foreign, "", "", "", "8000"]]))
    )
    assert messages == [f"第 2 行「个人账号」：职工缴存基数中没有个人账号 {foreign}"]


def test_errors_listed_together_and_nothing_changes(
    unit_client: FlaskClient, app: Flask
) -> None:
    own = employees(app)
    before = stored_bases(app)
    rows = [[own[0]["person_account"], "", "", "", "8000"]]
    rows += [[own[1]["person_account"], "", "", "", "1"]]
    rows += [[f"0201999{index:05d}", "", "", "", "8000"] for index in range(150)]
    response = upload(unit_client, workbook_bytes(rows))
    assert response.status_code == 400
    messages = import_errors(response)
    assert len(messages) == 100
    assert messages[0].startswith("第 3 行「新缴存基数」")
    heading = parse(response).find(id="import-errors-employees").h3.get_text()
    assert "文件有 151 处错误，未导入任何数据" in heading
    assert parse(response).find(id="import-summary-employees") is None
    assert draft_token(response) == ""
    assert stored_bases(app) == before


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # The new-base column is missing.
        (["个人账号", "姓名"], "表头缺少「新缴存基数」列"),
        # A column the template does not have.
        (HEADER + ["备注"], "表头第 6 列「备注」不是模板中的列"),
        # Reference columns may be left out.
        (["新缴存基数", "个人账号"], None),
    ],
)
def test_import_header(
    unit_client: FlaskClient, app: Flask, header: list[str], expected: str | None
) -> None:
    account = employees(app)[0]["person_account"]
    values = {"个人账号": account, "新缴存基数": "8000"}
    row = [values.get(label, "") for label in header]
    response = upload(unit_client, workbook_bytes([row], header))
    if expected is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert any(expected in message for message in import_errors(response))


def test_empty_sheet_rejected(unit_client: FlaskClient) -> None:
    response = upload(unit_client, workbook_bytes([]))
    assert import_errors(response) == ["文件中没有数据行，请在表头下方逐行填写"]
    blank = upload(unit_client, workbook_bytes([], header=[]))
    assert "第一个工作表是空的" in import_errors(blank)[0]


def test_too_many_rows(
    unit_client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = app.extensions["hall"].services["unit-base-change"]
    table = service.table("employees")
    monkeypatch.setattr(table, "row_import", replace(table.row_import, max_rows=2))
    own = employees(app)
    rows = [[own[index]["person_account"], "", "", "", "8000"] for index in range(3)]
    messages = import_errors(upload(unit_client, workbook_bytes(rows)))
    assert messages == ["文件的数据行超过 2 行的上限，请分成多个文件分别导入"]


@pytest.mark.parametrize(
    ("content", "name"),
    [
        # A PDF renamed to .xlsx.
        (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "基数.xlsx"),
        # Plain text renamed to .xlsx.
        ("个人账号,新缴存基数\n".encode(), "基数.xlsx"),
    ],
)
def test_non_xlsx_rejected(unit_client: FlaskClient, content: bytes, name: str) -> None:
    response = upload(unit_client, content, name)
    assert response.status_code == 400
    messages = import_errors(response)
    assert len(messages) == 1
    assert "不是允许的类型" in messages[0]


def test_damaged_xlsx_rejected(unit_client: FlaskClient) -> None:
    content = workbook_bytes([["020100000001", "", "", "", "8000"]])
    # The zip directory survives but the sheet's data is cut off.
    damaged = content[:200] + b"\0" * 400 + content[600:]
    response = upload(unit_client, damaged)
    assert response.status_code == 400
    assert "不是" in import_errors(response)[0]


def test_missing_file(unit_client: FlaskClient) -> None:
    token = csrf_token(unit_client.get(URL))
    response = unit_client.post(
        IMPORT_URL,
        data={"csrf_token": token, "_action": "import"},
        content_type="multipart/form-data",
    )
    assert import_errors(response) == ["请选择要导入的 Excel（xlsx）文件"]


def test_other_service_has_no_import(unit_client: FlaskClient) -> None:
    response = unit_client.get("/unit/unit-open-account/rows/employees/template.xlsx")
    assert response.status_code == 404


def test_page_offers_template_and_upload(unit_client: FlaskClient) -> None:
    page = parse(unit_client.get(URL))
    link = page.find(id="import-template-employees")
    assert link["href"] == TEMPLATE_URL
    assert page.find("input", attrs={"name": "_import_employees", "type": "file"})
    assert re.search("下载模板", page.get_text())


def test_import_keeps_chosen_attachment(unit_client: FlaskClient, app: Flask) -> None:
    account = employees(app)[0]["person_account"]
    content = workbook_bytes([[account, "", "", "", "8000"]])
    imported = upload(unit_client, content, wage_list=pdf("工资表.pdf"))
    assert imported.status_code == 200
    token = draft_token(imported)
    with app.extensions["hall"].session_factory() as session:
        draft = session.scalars(
            select(Application).where(Application.draft_token == token)
        ).one()
        kinds = [item.kind for item in draft.attachments]
    assert kinds == ["wage_list"]


def test_summary_shows_first_page_only(
    unit_client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = app.extensions["hall"].services["unit-base-change"].table("employees")
    monkeypatch.setattr(table, "page_size", 2)
    own = employees(app)
    rows = [[own[index]["person_account"], "", "", "", "8000"] for index in range(3)]
    page = parse(upload(unit_client, workbook_bytes(rows)))
    assert page.find(id="import-changed-employees").get_text() == "3"
    assert len(page.find(id="tbody-employees").find_all("tr")) == 2
    # No input of the table is on the page: the draft carries the rows.
    assert page.find("input", attrs={"name": re.compile(r"^employees-")}) is None


def test_unchanged_row_of_gone_record(unit_client: FlaskClient, app: Flask) -> None:
    account = employees(app)[0]["person_account"]
    # An account left as the template had it, whose record has gone since.
    rows = [["020199999999", "", "", "", None], [account, "", "", "", "8000"]]
    page = parse(upload(unit_client, workbook_bytes(rows)))
    assert page.find(id="import-read-employees").get_text() == "2"
    assert page.find(id="import-changed-employees").get_text() == "1"


def test_data_ends_at_long_blank_run(unit_client: FlaskClient, app: Flask) -> None:
    own = employees(app)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append([own[0]["person_account"], "", "", "", "8000"])
    # Below 1,000 blank rows, a row counts as outside the data.
    sheet.cell(row=1003, column=1, value="020199999999")
    sheet.cell(row=1003, column=5, value="8000")
    buffer = io.BytesIO()
    workbook.save(buffer)
    page = parse(upload(unit_client, buffer.getvalue()))
    assert page.find(id="import-read-employees").get_text() == "1"


def test_oversize_file_rejected(
    unit_client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = app.extensions["hall"].services["unit-base-change"].table("employees")
    monkeypatch.setattr(table, "row_import", replace(table.row_import, max_size_kb=1))
    account = employees(app)[0]["person_account"]
    response = upload(unit_client, workbook_bytes([[account, "", "", "", "8000"]]))
    assert response.status_code == 400
    assert import_errors(response) == [
        "职工缴存基数导入文件：文件“基数.xlsx”超过1KB，请压缩后重新上传"
    ]


def add_employees_of_file(app: Flask, rows: list[tuple[Any, ...]]) -> None:
    """Give UNIT_A an active account for each row's account, ID number and base."""
    with app.extensions["hall"].session_factory() as session:
        unit = session.scalars(select(Unit).where(Unit.unit_account == UNIT_A)).one()
        for account, name, id_number, base, _ in rows:
            # The 17th digit of an ID number is odd for men and even for women.
            sex = "1" if int(id_number[16]) % 2 else "2"
            person = Person(
                id_number=id_number,
                name=name,
                sex=sex,
                birth_date=dt.datetime.strptime(id_number[6:14], "%Y%m%d").date(),
                mobile="13900000000",
                retirement_group=finance.retirement_group(sex),
            )
            session.add(person)
            session.flush()
            session.add(
                Account(
                    person_account=account,
                    person_id=person.id,
                    unit_id=unit.id,
                    status="01",
                    base=Decimal(str(base)),
                    opened_on=dt.date(2020, 1, 1),
                    balance=Decimal("1000.00"),
                )
            )
        session.commit()


def test_libreoffice_file_imports(unit_client: FlaskClient, app: Flask) -> None:
    content = CALC_FILE.read_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        application = archive.read("docProps/app.xml").decode("utf-8")
        unpacked = sum(item.file_size for item in archive.infolist())
    assert "<Application>LibreOffice/" in application

    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    data = rows[1:]
    assert len(data) == CALC_ROWS
    # Calc kept account and ID numbers as text, with their leading zeros and X.
    assert all(isinstance(row[0], str) and len(row[0]) == 12 for row in data)
    assert all(isinstance(row[2], str) and len(row[2]) == 18 for row in data)

    table = app.extensions["hall"].services["unit-base-change"].table("employees")
    spec = table.row_import
    assert unpacked < max_unpacked_bytes(spec)
    # Calc's file, fixed parts included, needs less than two thirds of the budget.
    cells = CALC_ROWS * len(spec.template_columns)
    assert unpacked / cells < UNPACKED_BYTES_PER_CELL / 1.5

    add_employees_of_file(app, data)
    imported = upload(unit_client, content, name="基数（Calc）.xlsx")
    assert imported.status_code == 200, errors_of(imported)
    page = parse(imported)
    assert page.find(id="import-read-employees").get_text() == str(CALC_ROWS)
    assert page.find(id="import-changed-employees").get_text() == str(CALC_ROWS)
