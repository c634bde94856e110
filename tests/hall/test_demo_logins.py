"""The demo logins that `hall demo seed` and `hall serve` print."""

from __future__ import annotations

import io
import re

from flask import Flask
from support import UNIT_A, login_person, login_unit
from unit_flow import decide, submit

from engine.commands import demo_logins_text

NEW_ID = "11010519900101007X"  # valid, male, unknown to the core
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def logins_text(app: Flask) -> str:
    with app.extensions["hall"].session_factory() as session:
        return demo_logins_text(session)


def printed_person_accounts(text: str) -> list[str]:
    return re.findall(r"person hall ID number \S+ or account ([0-9]{12})", text)


def open_account_for_new_employee(app: Flask) -> None:
    """Open an account in the first unit and have a reviewer approve it."""
    client = app.test_client()
    login_unit(client, app, UNIT_A)
    form = {
        "first_month": "2026-12",
        "employees-0-_row": "1",
        "employees-0-id_number": NEW_ID,
        "employees-0-name": "张三",
        "employees-0-mobile": "13800138000",
        "employees-0-base": "6000",
        "_agree": "on",
    }
    files = {"id_card": (io.BytesIO(PNG), "身份证正面.png")}
    number = submit(client, "unit-open-account", form, files)
    decide(app, number)


def test_demo_logins_list_seeded_persons(app: Flask) -> None:
    text = logins_text(app)
    accounts = printed_person_accounts(text)
    assert accounts == ["020100000001", "020100000120", "020100000220"]
    assert "ID number 44020319850305021X or account 020100000001" in text
    for unit_account in ("0201000001", "0201000002", "0201000003"):
        assert f"unit account {unit_account} " in text
    assert "staff id reviewer" in text


def test_demo_logins_stable_after_new_account(app: Flask) -> None:
    before = logins_text(app)
    open_account_for_new_employee(app)
    after = logins_text(app)
    assert after == before
    for account in printed_person_accounts(after):
        login_person(app.test_client(), account)
