"""The reviewer's page of an application: who submitted it, when, and which version."""

from __future__ import annotations

import io
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from person_support import confirm as confirm_person
from person_support import give_login, renter
from sqlalchemy import select
from support import (
    UNIT_A,
    csrf_token,
    errors_of,
    login_person,
    login_staff,
    login_unit,
    parse,
)
from test_unit_resubmission import opening, returned_application, revise
from unit_flow import confirm, post_service

from connectors.embedded.models import Account, Person, Unit
from engine.clock import business_date

RETURN_COMMENT = "缴存基数与工资表不符，请改为6500元"
RENT_URL = "/person/person-rent-withdrawal"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def unit_client(client: FlaskClient, app: Flask) -> FlaskClient:
    login_unit(client, app)
    return client


def review_page(app: Flask, number: str) -> BeautifulSoup:
    reviewer = app.test_client()
    login_staff(reviewer)
    response = reviewer.get(f"/staff/reviews/{number}")
    assert response.status_code == 200
    return parse(response)


def card(page: BeautifulSoup) -> dict[str, str]:
    """Map each label of the application's card to its text."""
    found = {}
    for term in page.select("dl.card-list")[0].find_all("dt"):
        found[term.get_text(strip=True)] = term.find_next_sibling("dd").get_text(
            " ", strip=True
        )
    return found


def core_value(app: Flask, query: Any) -> Any:
    with app.extensions["hall"].session_factory() as session:
        return session.scalar(query)


def resubmitted(client: FlaskClient, app: Flask) -> tuple[str, str]:
    """Return the numbers of a returned unit application and of its correction."""
    number = returned_application(client, app)
    form = parse(revise(client, number))
    data = {**opening("6500"), "_draft": form.find(id="draft-token")["value"]}
    review = post_service(client, "unit-open-account", data)
    assert review.status_code == 200, errors_of(review)
    return number, confirm(client, "unit-open-account", review)


def test_unit_application_shows_unit(unit_client: FlaskClient, app: Flask) -> None:
    number = returned_application(unit_client, app)
    page = review_page(app, number)
    fields = card(page)
    unit_name = core_value(app, select(Unit.name).where(Unit.unit_account == UNIT_A))
    assert fields["单位名称"] == unit_name
    assert fields["单位账号"] == UNIT_A
    assert fields["提交时间"]
    assert "个人账号" not in fields
    assert "姓名" not in fields
    assert "版本" not in fields
    assert fields["审核意见"] == RETURN_COMMENT
    for value in fields.values():
        assert value, fields


def test_revision_links_previous(unit_client: FlaskClient, app: Flask) -> None:
    number, new_number = resubmitted(unit_client, app)
    page = review_page(app, new_number)
    fields = card(page)
    assert fields["版本"] == f"第2版，修改自 {number}"
    link = page.find(id="review-revision").find("a")
    assert link["href"] == f"/staff/reviews/{number}"
    assert fields["上一版退回意见"] == RETURN_COMMENT
    assert "审核意见" not in fields

    previous = card(review_page(app, number))
    assert previous["重新提交"] == f"{new_number} （第2版）"


def test_person_application_shows_depositor(client: FlaskClient, app: Flask) -> None:
    account = renter(app).person_account
    give_login(app, account)
    login_person(client, account)
    this_month = business_date().strftime("%Y-%m")
    data = {
        "housing_type": "public",
        "period_from": this_month,
        "period_to": this_month,
        "monthly_rent": "1000",
        "amount": "1000",
        "bank_card": "6217000000000000004",
        "_agree": "on",
        "rental_contract": (io.BytesIO(PDF), "租赁合同.pdf"),
        "csrf_token": csrf_token(client.get(RENT_URL)),
    }
    review = client.post(RENT_URL, data=data, content_type="multipart/form-data")
    assert review.status_code == 200, errors_of(review)
    number = confirm_person(client, RENT_URL, review)

    fields = card(review_page(app, number))
    name = core_value(
        app,
        select(Person.name)
        .join(Account, Account.person_id == Person.id)
        .where(Account.person_account == account),
    )
    assert fields["姓名"] == name
    assert fields["个人账号"] == account
    assert fields["提交时间"]
    assert "单位账号" not in fields
    assert "单位名称" not in fields
    for value in fields.values():
        assert value, fields
