"""个人缴存证明查询 (person-deposit-proof): deposit history of one's own account."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient
from person_support import (
    DEMO_ACCOUNT,
    card_of,
    core_session,
    give_login,
    table_of,
)
from sqlalchemy import select
from support import login_person

from connectors.embedded.models import Account, LedgerEntry
from engine.money import format_yuan


def history(app: Flask, person_account: str) -> tuple[Account, list[LedgerEntry]]:
    with core_session(app) as session:
        account = session.scalars(
            select(Account).where(Account.person_account == person_account)
        ).one()
        entries = session.scalars(
            select(LedgerEntry).where(LedgerEntry.account_id == account.id)
        ).all()
    return account, list(entries)


URL = "/person/person-deposit-proof"


def test_summary_of_own_account(app: Flask, client: FlaskClient) -> None:
    account, entries = history(app, DEMO_ACCOUNT)
    deposits: dict[int, Decimal] = defaultdict(Decimal)
    interest: dict[int, Decimal] = defaultdict(Decimal)
    months: dict[int, set[str]] = defaultdict(set)
    for entry in entries:
        year = entry.entry_date.year
        if entry.entry_type in ("01", "02"):
            deposits[year] += entry.credit
            if entry.entry_type == "01":
                months[year].add(entry.entry_date.strftime("%Y-%m"))
        elif entry.entry_type == "03":
            interest[year] += entry.credit
    paid = {month for year in months.values() for month in year}
    # Walk back from the last month paid until a month is missing.
    year, month = (int(part) for part in account.last_paid_month.split("-"))
    run = 0
    while f"{year:04d}-{month:02d}" in paid:
        run += 1
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    login_person(client, DEMO_ACCOUNT)

    response = client.get(URL)
    assert response.status_code == 200
    card = card_of(response)
    assert card["person_account"] == DEMO_ACCOUNT
    assert card["id_number_masked"] == "440203********021X"
    assert card["paid_months"] == str(len(paid))
    assert card["consecutive_months"] == str(run)
    assert card["total_deposits"] == format_yuan(sum(deposits.values(), Decimal(0)))
    assert card["balance"] == format_yuan(account.balance)
    assert table_of(response) == [
        [
            str(year),
            str(len(months[year])),
            format_yuan(deposits[year]),
            format_yuan(interest[year]),
        ]
        for year in sorted(set(deposits) | set(interest), reverse=True)
    ]


def test_sealed_account_stops_counting(app: Flask, client: FlaskClient) -> None:
    with core_session(app) as session:
        sealed = session.scalars(
            select(Account.person_account)
            .where(Account.status == "02")
            .order_by(Account.person_account)
        ).first()
    assert sealed is not None
    account, _entries = history(app, sealed)
    give_login(app, sealed)
    login_person(client, sealed)
    card = card_of(client.get(URL))
    assert card["person_account"] == sealed
    assert card["status_label"] == "封存"
    assert card["last_paid_month"] == account.last_paid_month


def test_params_do_not_widen(app: Flask, client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    plain = card_of(client.get(URL))
    with core_session(app) as session:
        other = session.scalars(
            select(Account.person_account).where(Account.person_account != DEMO_ACCOUNT)
        ).first()
    args = {"run": "1", "person_account": other}
    assert card_of(client.get(URL, query_string=args)) == plain
