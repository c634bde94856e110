"""Paged rows on the pages that show a submitted application.

The staff review page and the applicant's application page show at most
ROWS_PER_PAGE rows of each row table, with plain page links. A small application
shows all its rows without a pager.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup, Tag
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from support import UNIT_A, csrf_token, errors_of, login_staff, login_unit, parse
from test_unit_base_change_import import (
    URL,
    draft_token,
    employees,
    upload,
    workbook_bytes,
)
from unit_flow import confirm, decide, pdf, sms_code
from werkzeug.test import TestResponse

from connectors.base import Caller
from engine import submission
from engine.storage.models import Application
from engine.stored_rows import ROWS_PER_PAGE

SERVICE = "unit-base-change"
PAGE_PARAMETER = "page_employees"
LARGE_ROWS = 20_000
# A new base no demo employee has now, so the import keeps every row as changed.
NEW_BASE = "8123"
UNIT_A_CALLER = Caller("unit", unit_account=UNIT_A)


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def check_import(client: FlaskClient, app: Flask, accounts: list[str]) -> TestResponse:
    """Import a new base for `accounts` and submit the form for review."""
    rows = [[account, "", "", "", NEW_BASE] for account in accounts]
    imported = upload(client, workbook_bytes(rows))
    assert imported.status_code == 200, errors_of(imported)
    data = {
        "csrf_token": csrf_token(client.get(URL)),
        "_draft": draft_token(imported),
        "effective_month": "2027-01",
        "_agree": "on",
        "_action": "submit",
        "_sms_code": sms_code(client, app, SERVICE),
        "wage_list": pdf("工资表.pdf"),
    }
    review = client.post(URL, data=data, content_type="multipart/form-data")
    assert review.status_code == 200, errors_of(review)
    return review


def submit_import(client: FlaskClient, app: Flask, accounts: list[str]) -> str:
    """Import a new base for `accounts`, then submit and confirm the application."""
    return confirm(client, SERVICE, check_import(client, app, accounts))


def open_large_draft(session: Session, app: Flask, count: int) -> Application:
    """Open a checked base-change draft of `count` rows for unit A.

    The rows have the shape an xlsx import stores.
    """
    service = app.extensions["hall"].services[SERVICE]
    rows = [
        {
            "person_account": f"{900000000000 + index:012d}",
            "name": f"职工{index:05d}",
            "base": str(3000 + index % 500),
        }
        for index in range(count)
    ]
    draft = submission.open_draft(session, service, UNIT_A_CALLER)
    draft.data = {"effective_month": "2027-01", "employees": rows}
    session.commit()
    return draft


def store_large(app: Flask, count: int) -> str:
    """Store a confirmed base change of `count` rows through the submission functions.

    No delivery is queued.
    """
    with app.extensions["hall"].session_factory() as session:
        draft = open_large_draft(session, app, count)
        done = submission.confirm(session, draft, UNIT_A_CALLER, "127.0.0.1", None)
        assert done is not None and done.number is not None
        return done.number


def shown_accounts(page: BeautifulSoup) -> list[str]:
    table = page.find(id="rows-employees").find_next("table")
    return [row.find("td").get_text(strip=True) for row in table.select("tbody tr")]


def pager(page: BeautifulSoup) -> Tag | None:
    return page.find(id="pager-employees")


def link(page: BeautifulSoup, text: str) -> str | None:
    found = pager(page)
    assert found is not None
    anchor = found.find("a", string=text)
    return None if anchor is None else anchor["href"]


def page_number(href: str) -> str:
    return parse_qs(urlsplit(href).query)[PAGE_PARAMETER][0]


def test_staff_review_pages_imported_rows(unit_client: FlaskClient, app: Flask) -> None:
    own = [employee["person_account"] for employee in employees(app)]
    assert len(own) > ROWS_PER_PAGE, "the demo unit has too few employees"
    number = submit_import(unit_client, app, own)
    reviewer = app.test_client()
    login_staff(reviewer)
    url = f"/staff/reviews/{number}"

    first = parse(reviewer.get(url))
    assert shown_accounts(first) == own[:ROWS_PER_PAGE]
    heading = first.find(id="rows-employees").get_text(strip=True)
    assert heading == f"职工缴存基数（共 {len(own)} 行）"
    summary = pager(first).get_text(" ", strip=True)
    assert "第 1 / 2 页" in summary
    assert f"共 {len(own)} 行" in summary
    assert f"第 1–{ROWS_PER_PAGE} 行" in summary
    assert link(first, "上一页") is None
    next_href = link(first, "下一页")
    assert next_href is not None
    assert page_number(next_href) == "2"
    assert next_href.endswith("#rows-employees")
    # The decision form stays on every page.
    assert first.find("form", class_="decision") is not None

    second = parse(reviewer.get(f"{url}{next_href}"))
    assert shown_accounts(second) == own[ROWS_PER_PAGE:]
    assert link(second, "下一页") is None
    previous = link(second, "上一页")
    assert previous is not None
    # Page 1 has the page's plain address, without the parameter.
    assert PAGE_PARAMETER not in previous
    assert second.find("form", class_="decision") is not None

    # Approving from a page still applies every row.
    decide(app, number)
    after = {row["person_account"]: row["base"] for row in employees(app)}
    assert all(str(after[account]) == "8123.00" for account in own)


def test_applicant_page_pages_rows(unit_client: FlaskClient, app: Flask) -> None:
    own = [employee["person_account"] for employee in employees(app)]
    number = submit_import(unit_client, app, own)
    url = f"/unit/applications/{number}"
    first = parse(unit_client.get(url))
    assert shown_accounts(first) == own[:ROWS_PER_PAGE]
    second = parse(unit_client.get(f"{url}?{PAGE_PARAMETER}=2"))
    assert shown_accounts(second) == own[ROWS_PER_PAGE:]


def test_large_application_shows_one_page(app: Flask, client: FlaskClient) -> None:
    number = store_large(app, LARGE_ROWS)
    login_staff(client)
    url = f"/staff/reviews/{number}"
    pages = LARGE_ROWS // ROWS_PER_PAGE

    first = parse(client.get(url))
    accounts = shown_accounts(first)
    assert len(accounts) == ROWS_PER_PAGE
    assert accounts[0] == "900000000000"
    summary = pager(first).get_text(" ", strip=True)
    assert f"第 1 / {pages} 页" in summary
    assert f"共 {LARGE_ROWS} 行" in summary
    last_href = link(first, "末页")
    assert last_href is not None
    assert page_number(last_href) == str(pages)

    last = parse(client.get(f"{url}{last_href}"))
    accounts = shown_accounts(last)
    assert len(accounts) == ROWS_PER_PAGE
    assert accounts[-1] == f"{900000000000 + LARGE_ROWS - 1:012d}"
    summary = pager(last).get_text(" ", strip=True)
    assert f"第 {LARGE_ROWS - ROWS_PER_PAGE + 1}–{LARGE_ROWS} 行" in summary
    assert link(last, "末页") is None
    first_href = link(last, "首页")
    assert first_href is not None
    assert PAGE_PARAMETER not in first_href

    middle = parse(client.get(f"{url}?{PAGE_PARAMETER}=57"))
    assert shown_accounts(middle)[0] == f"{900000000000 + 56 * ROWS_PER_PAGE:012d}"


def test_odd_page_numbers(app: Flask, client: FlaskClient) -> None:
    number = store_large(app, LARGE_ROWS)
    login_staff(client)
    pages = LARGE_ROWS // ROWS_PER_PAGE
    cases = [
        ("0", 1),
        ("-3", 1),
        ("abc", 1),
        ("", 1),
        ("9" * 40, 1),
        ("5", 5),
        (str(pages + 1), pages),
        ("999999", pages),
    ]
    for requested, expected in cases:
        url = f"/staff/reviews/{number}?{PAGE_PARAMETER}={requested}"
        response = client.get(url)
        assert response.status_code == 200, url
        summary = pager(parse(response)).get_text(" ", strip=True)
        assert f"第 {expected} / {pages} 页" in summary, url


def test_small_application_has_no_pager(unit_client: FlaskClient, app: Flask) -> None:
    own = [employee["person_account"] for employee in employees(app)][:3]
    number = submit_import(unit_client, app, own)
    reviewer = app.test_client()
    login_staff(reviewer)
    pages = (
        (unit_client, f"/unit/applications/{number}"),
        (reviewer, f"/staff/reviews/{number}"),
    )
    for client, url in pages:
        page = parse(client.get(url))
        assert shown_accounts(page) == own, url
        heading = page.find(id="rows-employees").get_text(strip=True)
        assert heading == "职工缴存基数", url
        assert pager(page) is None, url
        assert page.find(class_="pager") is None, url
