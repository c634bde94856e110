"""Paged rows on the applicant's review page, before confirming an application.

The review page is the response to the service form's POST. It shows at most
ROWS_PER_PAGE rows of each row table, and its page links lead to the GET route of
the draft's review page, which only the draft's own unit can read.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from person_support import DEMO_ACCOUNT, card_of
from person_support import draft_token as person_draft_token
from sqlalchemy import select
from support import (
    UNIT_B,
    errors_of,
    login_person,
    login_unit,
    parse,
)
from test_application_rows_paging import (
    NEW_BASE,
    PAGE_PARAMETER,
    SERVICE,
    check_import,
    link,
    open_large_draft,
    page_number,
    pager,
    shown_accounts,
)
from test_person_repayment_withdrawal import URL as WITHDRAWAL_URL
from test_person_repayment_withdrawal import form as withdrawal_form
from test_person_repayment_withdrawal import post as post_withdrawal
from test_unit_base_change_import import (
    URL,
    draft_token,
    employees,
    upload,
    workbook_bytes,
)
from unit_flow import confirm

from connectors.embedded.models import Account
from engine.storage.models import Application
from engine.stored_rows import ROWS_PER_PAGE

LARGE_ROWS = 20_000


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def review_url(token: str) -> str:
    return f"{URL}/drafts/{token}/review"


def form_draft_tokens(page: BeautifulSoup) -> list[str]:
    """Return the draft token of each form on the page: confirm, then edit."""
    return [
        field["value"] for field in page.find_all("input", attrs={"name": "_draft"})
    ]


def stored_accounts(app: Flask, number: str) -> list[str]:
    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
        return [row["person_account"] for row in stored.data["employees"]]


def store_large_draft(app: Flask, count: int) -> str:
    """Store a checked base-change draft of `count` rows and return its token."""
    with app.extensions["hall"].session_factory() as session:
        return open_large_draft(session, app, count).draft_token


def test_review_pages_imported_rows(unit_client: FlaskClient, app: Flask) -> None:
    own = [employee["person_account"] for employee in employees(app)]
    assert len(own) > ROWS_PER_PAGE, "the demo unit has too few employees"
    assert len(own) <= 2 * ROWS_PER_PAGE, "the test expects exactly two pages"
    review = check_import(unit_client, app, own)
    first = parse(review)
    token = form_draft_tokens(first)[0]

    assert shown_accounts(first) == own[:ROWS_PER_PAGE]
    heading = first.find(id="rows-employees").get_text(strip=True)
    assert heading == f"职工缴存基数（{len(own)} 行）"
    summary = pager(first).get_text(" ", strip=True)
    assert "第 1 / 2 页" in summary
    assert f"第 1–{ROWS_PER_PAGE} 行" in summary
    assert f"共 {len(own)} 行" in summary
    assert link(first, "上一页") is None
    next_href = link(first, "下一页")
    assert next_href is not None
    assert next_href.startswith(review_url(token) + "?")
    assert page_number(next_href) == "2"
    assert next_href.endswith("#rows-employees")

    response = unit_client.get(next_href)
    assert response.status_code == 200
    second = parse(response)
    assert shown_accounts(second) == own[ROWS_PER_PAGE:]
    summary = pager(second).get_text(" ", strip=True)
    assert "第 2 / 2 页" in summary
    assert f"第 {ROWS_PER_PAGE + 1}–{len(own)} 行" in summary
    assert link(second, "下一页") is None
    previous = link(second, "上一页")
    assert previous is not None
    assert previous.startswith(review_url(token))
    # Page 1 has the route's plain address, without the parameter.
    assert PAGE_PARAMETER not in previous
    # The confirm and edit forms stay on every page, with the same draft.
    assert form_draft_tokens(second) == [token, token]

    back = parse(unit_client.get(previous))
    assert shown_accounts(back) == own[:ROWS_PER_PAGE]


def test_confirm_after_paging_stores_all(unit_client: FlaskClient, app: Flask) -> None:
    own = [employee["person_account"] for employee in employees(app)]
    first = parse(check_import(unit_client, app, own))
    next_href = link(first, "下一页")
    assert next_href is not None
    second = unit_client.get(next_href)
    assert second.status_code == 200

    number = confirm(unit_client, SERVICE, second)
    assert stored_accounts(app, number) == own

    # Once confirmed, the review address leads to the application.
    again = unit_client.get(next_href)
    assert again.status_code == 302
    assert again.headers["Location"] == f"/unit/applications/{number}"


def test_other_unit_cannot_read_draft(unit_client: FlaskClient, app: Flask) -> None:
    own = [employee["person_account"] for employee in employees(app)]
    first = parse(check_import(unit_client, app, own))
    token = form_draft_tokens(first)[0]
    next_href = link(first, "下一页")
    assert next_href is not None
    other = app.test_client()
    login_unit(other, app, UNIT_B)

    for url in (review_url(token), next_href):
        response = other.get(url)
        assert response.status_code == 404, url
        assert own[0] not in response.get_data(as_text=True), url

    # The draft stays unconfirmed, and its own unit still reads it.
    assert unit_client.get(review_url(token)).status_code == 200
    number = confirm(unit_client, SERVICE, unit_client.get(review_url(token)))
    # After the confirmation, the other unit still gets no redirect to it.
    response = other.get(review_url(token))
    assert response.status_code == 404
    assert number not in response.get_data(as_text=True)


def test_small_review_has_no_pager(unit_client: FlaskClient, app: Flask) -> None:
    own = [employee["person_account"] for employee in employees(app)][:3]
    first = parse(check_import(unit_client, app, own))
    token = form_draft_tokens(first)[0]
    again = parse(unit_client.get(review_url(token)))
    for page in (first, again):
        assert shown_accounts(page) == own
        heading = page.find(id="rows-employees").get_text(strip=True)
        assert heading == "职工缴存基数（3 行）"
        assert pager(page) is None
        assert page.find(class_="pager") is None


def test_large_draft_review_pages(unit_client: FlaskClient, app: Flask) -> None:
    token = store_large_draft(app, LARGE_ROWS)
    pages = LARGE_ROWS // ROWS_PER_PAGE

    first = parse(unit_client.get(review_url(token)))
    accounts = shown_accounts(first)
    assert len(accounts) == ROWS_PER_PAGE
    assert accounts[0] == "900000000000"
    heading = first.find(id="rows-employees").get_text(strip=True)
    assert heading == f"职工缴存基数（{LARGE_ROWS} 行）"
    summary = pager(first).get_text(" ", strip=True)
    assert f"第 1 / {pages} 页" in summary
    assert f"共 {LARGE_ROWS} 行" in summary
    last_href = link(first, "末页")
    assert last_href is not None
    assert page_number(last_href) == str(pages)

    last = parse(unit_client.get(last_href))
    accounts = shown_accounts(last)
    assert len(accounts) == ROWS_PER_PAGE
    assert accounts[-1] == f"{900000000000 + LARGE_ROWS - 1:012d}"
    assert link(last, "末页") is None
    first_href = link(last, "首页")
    assert first_href is not None
    assert PAGE_PARAMETER not in first_href

    middle = parse(unit_client.get(f"{review_url(token)}?{PAGE_PARAMETER}=57"))
    assert shown_accounts(middle)[0] == f"{900000000000 + 56 * ROWS_PER_PAGE:012d}"


@pytest.mark.parametrize(
    "token",
    [
        # Not the form of a draft token.
        "not!a+token",
        # The form of a token, but no draft has it.
        "A" * 32,
    ],
)
def test_unknown_draft_not_found(unit_client: FlaskClient, token: str) -> None:
    assert unit_client.get(review_url(token)).status_code == 404


def test_unchecked_draft_not_found(unit_client: FlaskClient, app: Flask) -> None:
    account = employees(app)[0]["person_account"]
    imported = upload(unit_client, workbook_bytes([[account, "", "", "", NEW_BASE]]))
    assert imported.status_code == 200, errors_of(imported)
    # The import opened a draft, but the form was never submitted for review.
    response = unit_client.get(review_url(draft_token(imported)))
    assert response.status_code == 404


def test_review_needs_login(client: FlaskClient, app: Flask) -> None:
    token = store_large_draft(app, 1)
    response = client.get(review_url(token))
    assert response.status_code == 302
    assert "/unit/login" in response.headers["Location"]


def test_review_reruns_trial(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    review = post_withdrawal(client, withdrawal_form(app, client))
    assert review.status_code == 200, errors_of(review)
    url = f"{WITHDRAWAL_URL}/drafts/{person_draft_token(review)}/review"

    again = client.get(url)
    assert again.status_code == 200
    assert card_of(again) == card_of(review)
    assert card_of(again)["limit"] != ""


def test_review_shows_trial_rejection(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    review = post_withdrawal(client, withdrawal_form(app, client, amount="1000"))
    assert review.status_code == 200, errors_of(review)
    url = f"{WITHDRAWAL_URL}/drafts/{person_draft_token(review)}/review"
    # The balance falls below the amount after the check, so the trial rejects it.
    with app.extensions["hall"].session_factory() as session:
        account = session.scalars(
            select(Account).where(Account.person_account == DEMO_ACCOUNT)
        ).one()
        account.balance = Decimal("500.00")
        session.commit()

    response = client.get(url)
    assert response.status_code == 400
    errors = errors_of(response)
    assert any(message.startswith("本次提取金额不能超过") for message in errors), errors
