"""Tests of the query services: paging, sorting, exports and whose records are shown."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from support import UNIT_A, UNIT_B, errors_of, login_person, login_unit, parse
from werkzeug.test import TestResponse

from connectors.embedded.codes import LEDGER_TYPES
from connectors.embedded.demo_data import DEMO_ID_NUMBER, demo_identities
from connectors.embedded.models import Account, LedgerEntry, Unit
from engine.clock import business_date
from engine.money import format_yuan
from engine.storage.models import Application

DEMO_ACCOUNT = "020100000001"
LEDGER_HEADERS = [
    "记账日期",
    "业务类型",
    "摘要",
    "借方金额（元）",
    "贷方金额（元）",
    "余额（元）",
]
EMPTY_TABLE = "没有符合条件的记录"


def _db(app: Flask) -> Any:
    return app.extensions["hall"].session_factory()


def _add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def _default_months() -> tuple[dt.date, dt.date]:
    """Return the first days of the default range: this month and the 11 before it."""
    this_month = business_date().replace(day=1)
    return _add_months(this_month, -11), this_month


def _core_entries(
    app: Flask,
    first: dt.date,
    last: dt.date,
    *,
    unit_account: str | None = None,
    person_account: str | None = None,
    entry_type: str | None = None,
) -> list[LedgerEntry]:
    """Read the core's ledger rows from month `first` through month `last`."""
    query = select(LedgerEntry).where(
        LedgerEntry.entry_date >= first,
        LedgerEntry.entry_date < _add_months(last, 1),
    )
    if unit_account is not None:
        unit = select(Unit.id).where(Unit.unit_account == unit_account)
        query = query.where(LedgerEntry.unit_id == unit.scalar_subquery())
    if person_account is not None:
        account = select(Account.id).where(Account.person_account == person_account)
        query = query.where(LedgerEntry.account_id == account.scalar_subquery())
    if entry_type is not None:
        query = query.where(LedgerEntry.entry_type == entry_type)
    query = query.order_by(LedgerEntry.entry_date, LedgerEntry.sequence, LedgerEntry.id)
    with _db(app) as session:
        return list(session.scalars(query))


def _month_text(month: dt.date) -> str:
    return month.strftime("%Y-%m")


def _rows(response: TestResponse) -> list[list[str]]:
    """Return the result table's cell texts by row, leaving out the no-records row."""
    table = parse(response).select_one("table.result-table")
    assert table is not None, "page has no result table"
    rows = []
    for row in table.select("tbody tr"):
        cells = [cell.get_text(strip=True) for cell in row.find_all("td")]
        if cells != [EMPTY_TABLE]:
            rows.append(cells)
    return rows


def _total(response: TestResponse) -> int:
    count = parse(response).select_one("p.count")
    assert count is not None, "page has no result count"
    return int(count.get_text().split()[1])


def _entry_cells(entry: LedgerEntry) -> list[str]:
    return [
        entry.entry_date.isoformat(),
        LEDGER_TYPES[entry.entry_type],
        entry.summary,
        format_yuan(entry.debit),
        format_yuan(entry.credit),
        format_yuan(entry.balance),
    ]


def _ledger_args(first: str, last: str, **extra: str) -> dict[str, str]:
    return {"run": "1", "month_from": first, "month_to": last, **extra}


def _three_years() -> tuple[dt.date, dt.date]:
    this_month = business_date().replace(day=1)
    return _add_months(this_month, -35), this_month


def _csv_rows(response: TestResponse) -> list[list[str]]:
    text = response.get_data().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# Unit ledger --------------------------------------------------------------------------


def test_unit_ledger_default_range(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    first, last = _default_months()
    response = client.get("/unit/unit-ledger")
    assert response.status_code == 200

    page = parse(response)
    assert page.select_one("input[name=month_from]")["value"] == _month_text(first)
    assert page.select_one("input[name=month_to]")["value"] == _month_text(last)
    expected = _core_entries(app, first, last, unit_account=UNIT_A)
    assert len(expected) > 0
    assert _total(response) == len(expected)
    assert _rows(response) == [_entry_cells(entry) for entry in expected[:20]]


@pytest.mark.parametrize(
    ("first", "last", "errors"),
    [
        # the start month after the end month
        ("2026-06", "2026-01", ["查询月份的开始不能晚于结束"]),
        # 37 months, one more than the spec allows
        ("2023-12", "2026-12", ["查询月份最长为36个月"]),
        # 36 months exactly are allowed
        ("2024-01", "2026-12", []),
        # month 13
        ("2026-13", "2026-12", ["查询月份应为月份，格式为 YYYY-MM，例如 2026-01"]),
        # slashes in place of the hyphen
        ("2026/01", "2026-12", ["查询月份应为月份，格式为 YYYY-MM，例如 2026-01"]),
        # a Chinese month name
        ("2026-01", "十二月", ["查询月份应为月份，格式为 YYYY-MM，例如 2026-01"]),
        # a full date where a month belongs
        ("2026-01-01", "2026-12", ["查询月份应为月份，格式为 YYYY-MM，例如 2026-01"]),
        # the start month left empty
        ("", "2026-12", ["请填写查询月份的开始和结束"]),
    ],
)
def test_unit_ledger_month_checks(
    app: Flask, client: FlaskClient, first: str, last: str, errors: list[str]
) -> None:
    login_unit(client, app)
    response = client.get("/unit/unit-ledger", query_string=_ledger_args(first, last))
    assert errors_of(response) == errors
    assert response.status_code == (400 if errors else 200)
    if errors:
        assert parse(response).select_one("table.result-table") is None


def test_unit_ledger_entry_type_filter(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    page = parse(client.get("/unit/unit-ledger"))
    offered = {
        option["value"]: option.get_text()
        for option in page.select("select[name=entry_type] option")
        if option["value"]
    }
    assert offered == LEDGER_TYPES

    first, last = _three_years()
    args = _ledger_args(_month_text(first), _month_text(last), entry_type="03")
    response = client.get("/unit/unit-ledger", query_string=args)
    expected = _core_entries(app, first, last, unit_account=UNIT_A, entry_type="03")
    assert response.status_code == 200
    assert len(expected) > 0
    assert _total(response) == len(expected)
    assert {row[1] for row in _rows(response)} == {"结息"}


@pytest.mark.parametrize(
    "entry_type",
    [
        "99",  # a code the core does not have
        "01 OR 1=1",  # SQL text
        "汇缴",  # the label in place of the value
    ],
)
def test_unit_ledger_forged_entry_type(
    app: Flask, client: FlaskClient, entry_type: str
) -> None:
    login_unit(client, app)
    args = _ledger_args("2026-01", "2026-12", entry_type=entry_type)
    response = client.get("/unit/unit-ledger", query_string=args)
    assert response.status_code == 400
    assert errors_of(response) == ["业务类型的选项无效，请从列表中选择"]
    assert parse(response).select_one("table.result-table") is None


@pytest.mark.parametrize(
    ("sort", "direction", "column"),
    [
        ("debit", "desc", 3),  # largest debit first
        ("credit", "asc", 4),  # smallest credit first
        ("balance", "desc", 5),  # largest balance first
        ("date", "desc", 0),  # newest first
    ],
)
def test_unit_ledger_sorting(
    app: Flask, client: FlaskClient, sort: str, direction: str, column: int
) -> None:
    login_unit(client, app)
    first, last = _three_years()
    args = _ledger_args(_month_text(first), _month_text(last), sort=sort, dir=direction)
    response = client.get("/unit/unit-ledger", query_string=args)
    entries = _core_entries(app, first, last, unit_account=UNIT_A)
    field = {"debit": "debit", "credit": "credit", "balance": "balance"}.get(
        sort, "entry_date"
    )
    ordered = sorted(
        entries, key=lambda entry: getattr(entry, field), reverse=direction == "desc"
    )
    shown = [row[column] for row in _rows(response)]
    assert response.status_code == 200
    assert shown == [_entry_cells(entry)[column] for entry in ordered[:20]]


@pytest.mark.parametrize(
    "sort",
    [
        "summary",  # a column the spec marks as not sortable
        "type",  # a key of the core's rows that is not a column
        "__class__",  # an attribute name
        "evil')--",  # SQL text
    ],
)
def test_unit_ledger_unknown_sort(app: Flask, client: FlaskClient, sort: str) -> None:
    login_unit(client, app)
    first, last = _three_years()
    months = (_month_text(first), _month_text(last))
    plain = client.get("/unit/unit-ledger", query_string=_ledger_args(*months))
    args = _ledger_args(*months, sort=sort, dir="desc")
    response = client.get("/unit/unit-ledger", query_string=args)
    assert response.status_code == 200
    assert _rows(response) == _rows(plain)


def test_unit_ledger_paging(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    first, last = _three_years()
    months = (_month_text(first), _month_text(last))
    entries = _core_entries(app, first, last, unit_account=UNIT_A)
    pages = -(-len(entries) // 20)
    assert pages >= 3

    all_rows: list[list[str]] = []
    for number in range(1, pages + 1):
        args = _ledger_args(*months, page=str(number))
        response = client.get("/unit/unit-ledger", query_string=args)
        rows = _rows(response)
        assert len(rows) == (20 if number < pages else len(entries) - 20 * (pages - 1))
        pager = parse(response).select_one("nav.pager").get_text()
        assert f"第 {number} / {pages} 页" in pager
        all_rows.extend(rows)
    assert all_rows == [_entry_cells(entry) for entry in entries]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("0", 1),  # below the first page
        ("-1", 1),  # negative
        ("abc", 1),  # not a number
        ("999", -1),  # past the last page shows the last page
    ],
)
def test_unit_ledger_page_bounds(
    app: Flask, client: FlaskClient, page: str, expected: int
) -> None:
    login_unit(client, app)
    first, last = _three_years()
    entries = _core_entries(app, first, last, unit_account=UNIT_A)
    pages = -(-len(entries) // 20)
    number = pages if expected == -1 else expected
    args = _ledger_args(_month_text(first), _month_text(last), page=page)
    response = client.get("/unit/unit-ledger", query_string=args)
    assert response.status_code == 200
    chosen = entries[(number - 1) * 20 : number * 20]
    assert _rows(response) == [_entry_cells(entry) for entry in chosen]


def test_unit_ledger_ignores_unit_param(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    first, last = _three_years()
    months = (_month_text(first), _month_text(last))
    plain = client.get("/unit/unit-ledger", query_string=_ledger_args(*months))
    widened = client.get(
        "/unit/unit-ledger",
        query_string=_ledger_args(
            *months, unit_account=UNIT_B, unit_id="2", caller=UNIT_B
        ),
    )
    assert widened.status_code == 200
    assert _rows(widened) == _rows(plain)
    assert _total(widened) == len(_core_entries(app, first, last, unit_account=UNIT_A))


# Exports ------------------------------------------------------------------------------


def test_unit_ledger_export_csv(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    first, last = _three_years()
    args = _ledger_args(_month_text(first), _month_text(last), unit_account=UNIT_B)
    response = client.get("/unit/unit-ledger/export.csv", query_string=args)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data().startswith(b"\xef\xbb\xbf")

    rows = _csv_rows(response)
    entries = _core_entries(app, first, last, unit_account=UNIT_A)
    assert rows[0] == LEDGER_HEADERS
    assert rows[1:] == [_entry_cells(entry) for entry in entries]
    assert any("," in row[4] for row in rows[1:])


def test_unit_ledger_export_xlsx(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    first, last = _default_months()
    args = _ledger_args(_month_text(first), _month_text(last))
    response = client.get("/unit/unit-ledger/export.xlsx", query_string=args)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active

    entries = _core_entries(app, first, last, unit_account=UNIT_A)
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == LEDGER_HEADERS
    assert len(values) == len(entries) + 1
    for cells, entry in zip(sheet.iter_rows(min_row=2), entries, strict=True):
        date, _type, _summary, debit, credit, balance = cells
        assert date.data_type == "s"
        assert date.number_format == "@"
        assert date.value == entry.entry_date.isoformat()
        assert debit.data_type == "n"
        assert Decimal(str(debit.value)) == entry.debit
        assert Decimal(str(credit.value)) == entry.credit
        assert Decimal(str(balance.value)) == entry.balance
        assert balance.number_format == "#,##0.00"


def test_export_link_of_default_page(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    page = parse(client.get("/unit/unit-ledger"))
    links = {link.get_text(): link["href"] for link in page.select("p.count a")}
    assert set(links) == {"导出 Excel", "导出 CSV"}

    response = client.get(links["导出 CSV"])
    first, last = _default_months()
    entries = _core_entries(app, first, last, unit_account=UNIT_A)
    assert response.status_code == 200
    assert len(_csv_rows(response)) == len(entries) + 1
    assert client.get(links["导出 Excel"]).status_code == 200


def test_export_keeps_negative_amounts(app: Flask, client: FlaskClient) -> None:
    # A red-ink reversal is booked as a negative amount.
    day = business_date().replace(day=1)
    with _db(app) as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.unit_account == UNIT_A))
        session.add(
            LedgerEntry(
                unit_id=unit_id,
                entry_date=day,
                sequence=99,
                entry_type="04",
                summary="-提取冲正",
                debit=Decimal("-1234.56"),
                credit=Decimal("0.00"),
                balance=Decimal("-0.50"),
            )
        )
        session.commit()
    login_unit(client, app)
    args = _ledger_args(_month_text(day), _month_text(day))

    rows = _csv_rows(client.get("/unit/unit-ledger/export.csv", query_string=args))
    reversal = next(row for row in rows if row[3].startswith(("-", "'-")))
    assert reversal[3] == "-1,234.56"
    assert reversal[5] == "-0.50"
    assert reversal[2] == "'-提取冲正"

    workbook = client.get("/unit/unit-ledger/export.xlsx", query_string=args)
    sheet = load_workbook(io.BytesIO(workbook.get_data())).active
    debits = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert Decimal("-1234.56") in [Decimal(str(value)) for value in debits]


# Applications -------------------------------------------------------------------------


def _application(
    number: str | None,
    status: str,
    submitted_at: dt.datetime | None,
    *,
    unit_account: str | None = None,
    person_account: str | None = None,
    comment: str | None = None,
) -> Application:
    hall = "unit" if unit_account else "person"
    return Application(
        number=number,
        draft_token=secrets.token_urlsafe(24),
        service_id="unit-open-account" if hall == "unit" else "person-rent-withdrawal",
        spec_version="1",
        hall=hall,
        unit_account=unit_account,
        person_account=person_account,
        status=status,
        form_values={},
        data={},
        comment=comment,
        submitted_at=submitted_at,
    )


def _add(app: Flask, *applications: Application) -> None:
    with _db(app) as session:
        session.add_all(applications)
        session.commit()


def _numbers(response: TestResponse) -> list[str]:
    return [row[0] for row in _rows(response)]


def _other_person(app: Flask) -> dict[str, Any]:
    """Return a demo depositor of the second unit, who is not the well-known one."""
    with _db(app) as session:
        return demo_identities(session)["persons"][2]


def _on(month: int, day: int) -> dt.datetime:
    """Return 02:00 UTC, which is 10:00 in Beijing, on a day of 2026 as stored."""
    return dt.datetime(2026, month, day, 2)


def _unit_applications(app: Flask) -> None:
    _add(
        app,
        _application("U20261001000001", "submitted", _on(10, 1), unit_account=UNIT_A),
        _application("U20261015000002", "approved", _on(10, 15), unit_account=UNIT_A),
        _application(
            "U20261101000003",
            "returned",
            _on(11, 1),
            unit_account=UNIT_A,
            comment="材料不全",
        ),
        _application("U20261102000004", "submitted", _on(11, 2), unit_account=UNIT_B),
        _application(
            "P20261103000005", "submitted", _on(11, 3), person_account=DEMO_ACCOUNT
        ),
        _application(None, "draft", None, unit_account=UNIT_A),
    )


def test_unit_applications_own_only(app: Flask, client: FlaskClient) -> None:
    _unit_applications(app)
    login_unit(client, app)
    response = client.get("/unit/unit-applications")
    assert response.status_code == 200
    assert _numbers(response) == [
        "U20261101000003",
        "U20261015000002",
        "U20261001000001",
    ]
    links = parse(response).select("table.result-table tbody a")
    assert [link["href"] for link in links][0] == "/unit/applications/U20261101000003"


@pytest.mark.parametrize(
    ("status", "numbers"),
    [
        ("submitted", ["U20261001000001"]),  # waiting for review
        ("approved", ["U20261015000002"]),  # approved
        ("returned", ["U20261101000003"]),  # returned with a comment
        ("", ["U20261101000003", "U20261015000002", "U20261001000001"]),  # any
    ],
)
def test_unit_applications_status_filter(
    app: Flask, client: FlaskClient, status: str, numbers: list[str]
) -> None:
    _unit_applications(app)
    login_unit(client, app)
    args = {"run": "1", "status": status}
    response = client.get("/unit/unit-applications", query_string=args)
    assert response.status_code == 200
    assert _numbers(response) == numbers


def test_unit_applications_forged_status(app: Flask, client: FlaskClient) -> None:
    _unit_applications(app)
    login_unit(client, app)
    args = {"run": "1", "status": "draft"}
    response = client.get("/unit/unit-applications", query_string=args)
    assert response.status_code == 400
    assert errors_of(response) == ["状态的选项无效，请从列表中选择"]


@pytest.mark.parametrize(
    ("first", "last", "numbers"),
    [
        ("2026-10-01", "2026-10-31", ["U20261015000002", "U20261001000001"]),  # October
        ("2026-10-15", "2026-10-15", ["U20261015000002"]),  # a single day
        ("2026-11-01", "2026-11-30", ["U20261101000003"]),  # November, own unit only
        ("2026-09-01", "2026-09-30", []),  # nothing submitted
    ],
)
def test_unit_applications_date_range(
    app: Flask, client: FlaskClient, first: str, last: str, numbers: list[str]
) -> None:
    _unit_applications(app)
    login_unit(client, app)
    args = {"run": "1", "period_from": first, "period_to": last}
    response = client.get("/unit/unit-applications", query_string=args)
    assert response.status_code == 200
    assert _numbers(response) == numbers


@pytest.mark.parametrize(
    ("first", "last", "numbers"),
    [
        # 2026-10-31 17:30 UTC is 2026-11-01 01:30 in Beijing, so it is a November one
        ("2026-11-01", "2026-11-01", ["U20261031000009"]),
        ("2026-10-31", "2026-10-31", []),
    ],
)
def test_unit_applications_local_days(
    app: Flask, client: FlaskClient, first: str, last: str, numbers: list[str]
) -> None:
    late = dt.datetime(2026, 10, 31, 17, 30)
    _add(app, _application("U20261031000009", "submitted", late, unit_account=UNIT_A))
    login_unit(client, app)
    args = {"run": "1", "period_from": first, "period_to": last}
    response = client.get("/unit/unit-applications", query_string=args)
    assert _numbers(response) == numbers


@pytest.mark.parametrize(
    ("number", "status"),
    [
        ("U20261001000001", 200),  # the unit's own application
        ("U20261102000004", 404),  # another unit's application
        ("P20261103000005", 404),  # a depositor's application
        ("U29991231999999", 404),  # no such number
    ],
)
def test_unit_application_detail_access(
    app: Flask, client: FlaskClient, number: str, status: int
) -> None:
    _unit_applications(app)
    login_unit(client, app)
    assert client.get(f"/unit/applications/{number}").status_code == status


def test_unit_applications_export_text(app: Flask, client: FlaskClient) -> None:
    # Reviewer comments a spreadsheet would run as formulas, by application number.
    comments = {
        "U20261001000001": '=HYPERLINK("http://evil.example")',
        "U20261002000002": "+1+1",
        "U20261003000003": "-1+cmd|' /C calc'!A0",
        "U20261004000004": "@SUM(A1:A2)",
        "U20261005000005": "\t=1+1",
    }
    _add(
        app,
        *(
            _application(
                number, "returned", _on(10, day), unit_account=UNIT_A, comment=text
            )
            for day, (number, text) in enumerate(comments.items(), start=1)
        ),
    )
    login_unit(client, app)
    expected = {number: "'" + text for number, text in comments.items()}

    args = {"run": "1"}
    response = client.get("/unit/unit-applications/export.csv", query_string=args)
    rows = _csv_rows(response)
    assert rows[0] == ["申报编号", "业务", "提交时间", "状态", "审核意见"]
    assert {row[0]: row[4] for row in rows[1:]} == expected

    workbook = client.get("/unit/unit-applications/export.xlsx", query_string=args)
    sheet = load_workbook(io.BytesIO(workbook.get_data())).active
    exported = {}
    for number, _service, _at, _status, comment in sheet.iter_rows(min_row=2):
        assert number.data_type == "s"
        assert number.number_format == "@"
        assert comment.data_type == "s"
        exported[number.value] = comment.value
    assert exported == expected


def test_person_applications_own_only(app: Flask, client: FlaskClient) -> None:
    other = _other_person(app)["person_account"]
    _add(
        app,
        _application(
            "P20261001000001", "submitted", _on(10, 1), person_account=DEMO_ACCOUNT
        ),
        _application(
            "P20261101000002", "approved", _on(11, 1), person_account=DEMO_ACCOUNT
        ),
        _application("P20261102000003", "submitted", _on(11, 2), person_account=other),
        _application("U20261103000004", "submitted", _on(11, 3), unit_account=UNIT_A),
    )
    login_person(client, DEMO_ACCOUNT)

    response = client.get("/person/person-applications")
    assert _numbers(response) == ["P20261101000002", "P20261001000001"]
    args = {"run": "1", "status": "approved"}
    approved = client.get("/person/person-applications", query_string=args)
    assert _numbers(approved) == ["P20261101000002"]
    args = {"run": "1", "period_from": "2026-10-01", "period_to": "2026-10-31"}
    october = client.get("/person/person-applications", query_string=args)
    assert _numbers(october) == ["P20261001000001"]
    widened = client.get(
        "/person/person-applications",
        query_string={"run": "1", "person_account": other},
    )
    assert _numbers(widened) == ["P20261101000002", "P20261001000001"]

    assert client.get("/person/applications/P20261001000001").status_code == 200
    assert client.get("/person/applications/P20261102000003").status_code == 404
    assert client.get("/person/applications/U20261103000004").status_code == 404
    assert client.get("/unit/applications/U20261103000004").status_code == 302


# Person account and ledger ------------------------------------------------------------


def _card(response: TestResponse) -> dict[str, str]:
    return {
        item["data-name"]: item.get_text(strip=True)
        for item in parse(response).select("dl.card-list dd[data-name]")
    }


def test_person_account_card(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ID_NUMBER)
    with _db(app) as session:
        account = session.scalars(
            select(Account).where(Account.person_account == DEMO_ACCOUNT)
        ).one()
    response = client.get("/person/person-account")
    assert response.status_code == 200

    card = _card(response)
    assert card["person_account"] == DEMO_ACCOUNT
    assert card["id_number_masked"] == "440203********021X"
    assert card["unit_account"] == UNIT_A
    assert card["balance"] == format_yuan(account.balance)
    assert DEMO_ID_NUMBER not in response.get_data(as_text=True)


def test_person_account_ignores_params(app: Flask, client: FlaskClient) -> None:
    other = _other_person(app)
    login_person(client, DEMO_ACCOUNT)
    plain = _card(client.get("/person/person-account"))
    args = {
        "run": "1",
        "person_account": other["person_account"],
        "login_id": other["id_number"],
    }
    widened = _card(client.get("/person/person-account", query_string=args))
    assert widened == plain
    assert widened["person_account"] == DEMO_ACCOUNT


def test_person_ledger_own_entries(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    first, last = _default_months()
    response = client.get("/person/person-ledger")
    assert response.status_code == 200

    expected = _core_entries(app, first, last, person_account=DEMO_ACCOUNT)
    assert len(expected) > 1
    assert _total(response) == len(expected)
    assert _rows(response) == [_entry_cells(entry) for entry in expected[:20]]
    chart = parse(response).select_one("section.result svg")
    assert chart is not None
    assert chart.select_one("polyline") is not None


def test_person_ledger_ignores_params(app: Flask, client: FlaskClient) -> None:
    other = _other_person(app)["person_account"]
    login_person(client, DEMO_ACCOUNT)
    first, last = _three_years()
    months = (_month_text(first), _month_text(last))
    plain = client.get("/person/person-ledger", query_string=_ledger_args(*months))
    args = _ledger_args(*months, person_account=other, account_id="2")
    widened = client.get("/person/person-ledger", query_string=args)
    own = _core_entries(app, first, last, person_account=DEMO_ACCOUNT)
    assert _rows(widened) == _rows(plain)
    assert _total(widened) == len(own)

    exported = client.get("/person/person-ledger/export.csv", query_string=args)
    assert _csv_rows(exported)[1:] == [_entry_cells(entry) for entry in own]
