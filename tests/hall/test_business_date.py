"""Application numbers and opening dates take the date in China, not in UTC."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import login_unit, parse
from unit_flow import decide, pdf, submit

from connectors.embedded.models import Account, DepositChange, Person, ReviewItem
from engine import clock
from engine.storage.models import Application

# 06:50 on 5 December in China, still 4 December in UTC.
PINNED = dt.datetime(2026, 12, 4, 22, 50, tzinfo=dt.UTC)
NEW_ID = "11010519900101007X"


@pytest.fixture
def unit_client(
    monkeypatch: pytest.MonkeyPatch, client: FlaskClient, app: Flask
) -> FlaskClient:
    monkeypatch.setattr(clock, "now", lambda: PINNED)
    login_unit(client, app)
    return client


def open_account(client: FlaskClient) -> str:
    """Submit the opening of one new employee's account and return the number."""
    data = {
        "first_month": "2026-12",
        "employees-0-_row": "1",
        "employees-0-id_number": NEW_ID,
        "employees-0-name": "张三",
        "employees-0-mobile": "13800138000",
        "employees-0-base": "6000",
        "_agree": "on",
    }
    files = {"id_card": pdf("身份证.pdf")}
    return submit(client, "unit-open-account", data, files)


def test_number_uses_business_date(unit_client: FlaskClient, app: Flask) -> None:
    number = open_account(unit_client)
    assert number.startswith("U20261205")

    with app.extensions["hall"].session_factory() as session:
        stored = session.scalars(
            select(Application).where(Application.number == number)
        ).one()
    assert stored.submitted_at == dt.datetime(2026, 12, 4, 22, 50)

    detail = parse(unit_client.get(f"/unit/applications/{number}"))
    text = detail.get_text(" ", strip=True)
    assert "2026-12-05 06:50" in text


def test_opening_uses_business_date(unit_client: FlaskClient, app: Flask) -> None:
    number = open_account(unit_client)
    decide(app, number)

    with app.extensions["hall"].session_factory() as session:
        person = session.scalars(select(Person).where(Person.id_number == NEW_ID)).one()
        account = session.scalars(
            select(Account).where(Account.person_id == person.id)
        ).one()
        change = session.scalars(
            select(DepositChange).where(DepositChange.account_id == account.id)
        ).one()
    assert account.opened_on == dt.date(2026, 12, 5)
    assert change.recorded_on == dt.date(2026, 12, 5)


def test_review_item_times_are_utc(unit_client: FlaskClient, app: Flask) -> None:
    number = open_account(unit_client)
    decide(app, number)

    with app.extensions["hall"].session_factory() as session:
        item = session.scalars(
            select(ReviewItem).where(ReviewItem.application_number == number)
        ).one()
    assert item.created_at == dt.datetime(2026, 12, 4, 22, 50)
    assert item.decided_at == dt.datetime(2026, 12, 4, 22, 50)

