"""HTML and spreadsheet formulas in text that the hall shows back or exports.

A unit handler types markup into every free-text field and a reviewer returns the
application with markup and formulas as the comment. Every page that shows the text must
escape it, and every export must keep a spreadsheet from running it.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from support import (
    csrf_token,
    errors_of,
    login_person,
    login_staff,
    login_unit,
    parse,
)

OPEN_URL = "/unit/unit-open-account"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = "\"' onmouseover=alert(1) x='"
MARKUP = [
    SCRIPT,
    ATTRIBUTE,
    "<img src=x onerror=alert(1)>",
    "</textarea><svg onload=alert(1)>",
]


def assert_escaped(text: str, value: str) -> None:
    """Fail if the raw markup appears in the page; it must be there escaped."""
    for dangerous in ("<script>alert", "<img src=x", "<svg onload", "' onmouseover"):
        if dangerous in value:
            assert dangerous not in text, dangerous


def open_form(name: str) -> dict[str, Any]:
    return {
        "first_month": "2026-12",
        "employees-0-_row": "1",
        "employees-0-id_number": "11010519900101007X",
        "employees-0-name": name,
        "employees-0-mobile": "13800138000",
        "employees-0-base": "6000",
        "_agree": "on",
    }


def post_open(client: FlaskClient, data: dict[str, Any]) -> Any:
    return client.post(
        OPEN_URL,
        data={
            "csrf_token": csrf_token(client.get(OPEN_URL)),
            **data,
            "id_card": (io.BytesIO(PNG), f"{SCRIPT[:20]}.png"),
        },
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("markup", MARKUP)
def test_markup_escaped_on_every_page(
    app: Flask, client: FlaskClient, markup: str
) -> None:
    name = markup[:30]
    login_unit(client, app)
    review = post_open(client, open_form(name))
    assert review.status_code == 200, errors_of(review)
    assert_escaped(review.get_data(as_text=True), name)
    assert name in parse(review).get_text()
    token = re.search(r'name="_draft" value="([^"]+)"', review.get_data(as_text=True))
    assert token

    edit = client.post(
        OPEN_URL,
        data={
            "csrf_token": csrf_token(client.get(OPEN_URL)),
            "_draft": token.group(1),
            "_action": "edit",
        },
    )
    assert_escaped(edit.get_data(as_text=True), name)
    assert parse(edit).find(id="f-employees-0-name")["value"] == name

    done = client.post(
        f"{OPEN_URL}/confirm",
        data={"csrf_token": csrf_token(client.get(OPEN_URL)), "_draft": token.group(1)},
    )
    number = done.headers["Location"].rsplit("/", 1)[-1]
    detail = client.get(f"/unit/applications/{number}")
    assert_escaped(detail.get_data(as_text=True), name)
    assert name in parse(detail).get_text()

    reviewer = app.test_client()
    login_staff(reviewer)
    queue = reviewer.get("/staff/reviews")
    assert number in queue.get_data(as_text=True)
    assert_escaped(queue.get_data(as_text=True), name)
    page = reviewer.get(f"/staff/reviews/{number}")
    assert_escaped(page.get_data(as_text=True), name)
    assert name in parse(page).get_text()

    comment = f"请核对 {markup}"
    reviewer.post(
        f"/staff/reviews/{number}",
        data={"csrf_token": csrf_token(page), "decision": "return", "comment": comment},
    )
    for url in (
        f"/unit/applications/{number}",
        "/unit/unit-applications?run=1",
    ):
        shown = client.get(url)
        assert_escaped(shown.get_data(as_text=True), comment)
        assert comment in parse(shown).get_text()


@pytest.mark.parametrize("markup", MARKUP)
def test_markup_escaped_in_error_pages(
    app: Flask, client: FlaskClient, markup: str
) -> None:
    login_unit(client, app)
    response = post_open(
        client,
        {
            **open_form("张三"),
            "employees-0-base": markup,
            "employees-0-mobile": markup,
            "first_month": markup,
        },
    )
    assert response.status_code == 400
    assert_escaped(response.get_data(as_text=True), markup)
    page = parse(response)
    assert page.find(id="f-employees-0-base")["value"] == markup
    ledger = client.get(
        "/unit/unit-ledger",
        query_string={"run": "1", "month_from": markup, "month_to": markup},
    )
    assert ledger.status_code == 400
    assert_escaped(ledger.get_data(as_text=True), markup)
    assert parse(ledger).find(id="f-month")["value"] == markup


@pytest.mark.parametrize("markup", MARKUP)
def test_markup_escaped_on_login_pages(client: FlaskClient, markup: str) -> None:
    for url, field in (
        ("/unit/login", "unit_account"),
        ("/person/login", "login_id"),
        ("/staff/login", "staff_id"),
    ):
        token = csrf_token(client.get(url))
        response = client.post(
            url, data={"csrf_token": token, field: markup, "password": "x"}
        )
        assert response.status_code == 400
        assert_escaped(response.get_data(as_text=True), markup.upper())
        assert_escaped(response.get_data(as_text=True), markup)
    login_person(client, "44020319850305021X")
    ledger = client.get("/person/person-ledger", query_string={"month_to": markup})
    assert_escaped(ledger.get_data(as_text=True), markup)


FORMULAS = [
    '=HYPERLINK("http://evil.example","点击")',
    "+1+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(A1:A2)",
    "-sNaN123",  # a cell reference to a spreadsheet, a NaN to Decimal
    "-Infinity",
    "+NaN",
    "-1_000",
    "=1+1",
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_comment_formula_neutralised_in_exports(
    app: Flask, client: FlaskClient, formula: str
) -> None:
    login_unit(client, app)
    review = post_open(client, open_form("张三"))
    token = re.search(r'name="_draft" value="([^"]+)"', review.get_data(as_text=True))
    assert token
    done = client.post(
        f"{OPEN_URL}/confirm",
        data={"csrf_token": csrf_token(client.get(OPEN_URL)), "_draft": token.group(1)},
    )
    number = done.headers["Location"].rsplit("/", 1)[-1]
    reviewer = app.test_client()
    login_staff(reviewer)
    page = reviewer.get(f"/staff/reviews/{number}")
    reviewer.post(
        f"/staff/reviews/{number}",
        data={"csrf_token": csrf_token(page), "decision": "return", "comment": formula},
    )

    args = {"run": "1"}
    exported = client.get("/unit/unit-applications/export.csv", query_string=args)
    assert exported.status_code == 200
    text = exported.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    (row,) = [row for row in rows if row[0] == number]
    assert row[4] == "'" + formula

    workbook = client.get(
        "/unit/unit-applications/export.xlsx", query_string={"run": "1"}
    )
    sheet = load_workbook(io.BytesIO(workbook.get_data())).active
    (cells,) = [
        cells for cells in sheet.iter_rows(min_row=2) if cells[0].value == number
    ]
    assert cells[4].data_type == "s"
    assert cells[4].value == "'" + formula
