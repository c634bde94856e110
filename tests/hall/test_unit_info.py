"""单位基本信息查询 (unit-info) through the Flask test client."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support import UNIT_A, UNIT_B, login_unit, parse
from werkzeug.test import TestResponse

from connectors.embedded.models import Account, Unit
from engine.money import format_yuan

URL = "/unit/unit-info"


def card(response: TestResponse) -> dict[str, str]:
    return {
        item["data-name"]: item.get_text(strip=True)
        for item in parse(response).select("dl.card-list dd[data-name]")
    }


def core_unit(app: Flask, unit_account: str) -> tuple[Unit, int, Decimal]:
    with app.extensions["hall"].session_factory() as session:
        unit = session.scalars(
            select(Unit).where(Unit.unit_account == unit_account)
        ).one()
        active = session.scalar(
            select(func.count(Account.id)).where(
                Account.unit_id == unit.id, Account.status == "01"
            )
        )
        holding = session.scalars(
            select(Account.balance).where(
                Account.unit_id == unit.id,
                Account.status.in_(("01", "02", "06", "99")),
            )
        )
        return unit, active, sum(holding, Decimal("0.00"))


def test_unit_card_shows_core_record(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    response = client.get(URL)
    assert response.status_code == 200
    unit, active, balance = core_unit(app, UNIT_A)
    displayed = card(response)
    assert displayed["unit_account"] == UNIT_A
    assert displayed["name"] == unit.name
    assert displayed["uscc"] == unit.uscc
    assert displayed["address"] == unit.address
    assert displayed["bank_account"] == unit.bank_account
    assert displayed["unit_ratio"] == "12%"
    assert displayed["status_label"] == "正常"
    assert displayed["employee_count"] == str(active)
    assert displayed["balance"] == format_yuan(balance)


def test_unit_card_ignores_other_unit_params(app: Flask, client: FlaskClient) -> None:
    login_unit(client, app)
    widened = client.get(URL, query_string={"run": "1", "unit_account": UNIT_B})
    assert card(widened)["unit_account"] == UNIT_A
    other, _active, _balance = core_unit(app, UNIT_B)
    assert other.name not in widened.get_data(as_text=True)


def test_unit_card_needs_unit_login(client: FlaskClient) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert "/unit/login" in response.headers["Location"]
