"""The synthetic demo data: deterministic, valid identifiers, complete ledgers."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from stdnum import luhn
from stdnum.cn import ric, uscc

from connectors.embedded import codes, finance
from connectors.embedded.demo_data import DEMO_ID_NUMBER, FIRST_UNIT, demo_identities
from connectors.embedded.models import (
    Account,
    CoreBase,
    InterestSettlement,
    LedgerEntry,
    Loan,
    LoanInstalment,
    PartnerProject,
    Person,
    Unit,
)
from tests.core.conftest import TODAY, seeded_engine


def all_rows(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as connection:
        return {
            table.name: list(
                connection.execute(table.select().order_by(*table.primary_key.columns))
            )
            for table in CoreBase.metadata.sorted_tables
        }


def test_seed_is_deterministic(test_databases, policy) -> None:
    first = seeded_engine(test_databases.empty("first"), policy)
    second = seeded_engine(test_databases.empty("second"), policy)
    try:
        first_rows, second_rows = all_rows(first), all_rows(second)
    finally:
        first.dispose()
        second.dispose()
    assert first_rows["core_ledger_entry"]
    for table, rows in first_rows.items():
        assert rows == second_rows[table], table


def test_units_have_valid_codes(core_engine: Engine) -> None:
    with Session(core_engine) as session:
        units = session.scalars(select(Unit).order_by(Unit.id)).all()
        assert len(units) >= 3
        assert units[0].unit_account == FIRST_UNIT
        for unit in units:
            assert uscc.is_valid(unit.uscc), unit.uscc
            assert re.fullmatch(r"0\d{9}", unit.unit_account)
            assert "韶关市" in unit.address


def test_people_have_valid_identifiers(core_engine: Engine) -> None:
    with Session(core_engine) as session:
        people = session.scalars(select(Person)).all()
        accounts = session.scalars(select(Account)).all()
    assert len(people) >= 300
    assert len({person.id_number for person in people}) == len(people)
    for person in people:
        assert ric.is_valid(person.id_number), person.id_number
        assert ric.get_birth_date(person.id_number) == person.birth_date
        assert int(person.id_number[16]) % 2 == (1 if person.sex == "1" else 0)
        assert luhn.is_valid(person.bank_card), person.bank_card
        assert re.fullmatch(r"1[3-9]\d{9}", person.mobile)
    for account in accounts:
        assert re.fullmatch(r"0\d{11}", account.person_account)


def test_demo_depositor_is_fixed(core_engine: Engine) -> None:
    assert ric.is_valid(DEMO_ID_NUMBER)
    with Session(core_engine) as session:
        person = session.scalars(
            select(Person).where(Person.id_number == DEMO_ID_NUMBER)
        ).one()
        account = session.scalars(
            select(Account).where(Account.person_id == person.id)
        ).one()
        unit = session.get_one(Unit, account.unit_id)
        loans = session.scalars(select(Loan).where(Loan.person_id == person.id)).all()
    assert unit.unit_account == FIRST_UNIT
    assert account.status == codes.ACTIVE
    assert len(loans) == 1


def test_handlers_are_active_employees(core_engine: Engine) -> None:
    with Session(core_engine) as session:
        for unit in session.scalars(select(Unit)):
            account = session.scalars(
                select(Account).where(
                    Account.person_account == unit.handler_person_account
                )
            ).one()
            assert account.unit_id == unit.id
            assert account.status == codes.ACTIVE


def test_ledgers_span_36_months(core_engine: Engine) -> None:
    last_month = finance.add_months(TODAY.replace(day=1), -1)
    with Session(core_engine) as session:
        person = session.scalars(
            select(Person).where(Person.id_number == DEMO_ID_NUMBER)
        ).one()
        account = session.scalars(
            select(Account).where(Account.person_id == person.id)
        ).one()
        days = session.scalars(
            select(LedgerEntry.entry_date).where(
                LedgerEntry.account_id == account.id,
                LedgerEntry.entry_type == codes.REMITTANCE,
            )
        ).all()
        unit_days = session.scalars(
            select(LedgerEntry.entry_date).where(
                LedgerEntry.unit_id == account.unit_id,
                LedgerEntry.entry_type == codes.REMITTANCE,
            )
        ).all()
    months = sorted({(day.year, day.month) for day in days})
    assert len(months) == 36
    assert months[-1] == (last_month.year, last_month.month)
    assert len({(day.year, day.month) for day in unit_days}) == 36
    assert account.last_paid_month == f"{last_month:%Y-%m}"


def test_every_account_ledger_ends_at_balance(core_engine: Engine) -> None:
    with Session(core_engine) as session:
        for account in session.scalars(select(Account)):
            last = session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.account_id == account.id)
                .order_by(LedgerEntry.entry_date.desc(), LedgerEntry.id.desc())
                .limit(1)
            ).one()
            assert last.balance == account.balance, account.person_account


def test_unit_balance_is_sum_of_accounts(core_engine: Engine) -> None:
    with Session(core_engine) as session:
        for unit in session.scalars(select(Unit)):
            balances = session.scalars(
                select(Account.balance).where(Account.unit_id == unit.id)
            )
            last = session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.unit_id == unit.id)
                .order_by(LedgerEntry.entry_date.desc(), LedgerEntry.id.desc())
                .limit(1)
            ).one()
            assert last.balance == sum(balances, Decimal("0.00"))


def test_interest_booked_on_30_june(core_engine: Engine, policy) -> None:
    with Session(core_engine) as session:
        days = session.scalars(
            select(LedgerEntry.entry_date).where(
                LedgerEntry.entry_type == codes.INTEREST
            )
        ).all()
        settlements = session.scalars(select(InterestSettlement)).all()
    assert days
    assert {(day.month, day.day) for day in days} == {(6, 30)}
    assert {settlement.year for settlement in settlements} == {2024, 2025, 2026}
    for settlement in settlements:
        assert (
            settlement.balance_after == settlement.balance_before + settlement.interest
        )


def test_interest_matches_balance_days(core_engine: Engine, policy) -> None:
    settled_on = dt.date(2025, 6, 30)
    with Session(core_engine) as session:
        settlement = session.scalars(
            select(InterestSettlement).where(InterestSettlement.year == 2025).limit(1)
        ).one()
        entries = session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.account_id == settlement.account_id,
                LedgerEntry.entry_date <= settled_on,
            )
            .order_by(LedgerEntry.entry_date, LedgerEntry.id)
        ).all()
    start = finance.interest_year_start(settled_on)
    before = [entry for entry in entries if entry.entry_date < start]
    carried = before[-1].balance if before else Decimal("0.00")
    movements = [
        (entry.entry_date, entry.credit - entry.debit)
        for entry in entries
        if entry.entry_date >= start and entry.entry_type != codes.INTEREST
    ]
    expected = finance.settle_interest(carried, movements, Decimal("1.5"), settled_on)
    assert settlement.interest == expected


def test_loans_projects_and_sealed_accounts(core_engine: Engine) -> None:
    with Session(core_engine) as session:
        loans = session.scalars(select(Loan)).all()
        projects = session.scalar(select(func.count(PartnerProject.id)))
        sealed = session.scalar(
            select(func.count(Account.id)).where(Account.status == codes.SEALED)
        )
        for loan in loans:
            rows = session.scalars(
                select(LoanInstalment)
                .where(LoanInstalment.loan_id == loan.id)
                .order_by(LoanInstalment.month)
            ).all()
            assert len(rows) == loan.term_months
            assert sum(row.principal for row in rows) == loan.amount
            paid = [row for row in rows if row.paid_on is not None]
            assert paid
            assert loan.balance == paid[-1].balance
    assert len(loans) >= 15
    assert any(loan.status == codes.LOAN_SETTLED for loan in loans)
    assert projects >= 12
    assert sealed >= 3


def test_demo_identities_lists_logins(core_engine: Engine) -> None:
    with Session(core_engine) as session:
        identities = demo_identities(session)
    assert identities["units"][0]["unit_account"] == FIRST_UNIT
    assert all(unit["handler_mobile"] for unit in identities["units"])
    demo = identities["persons"][0]
    assert demo["id_number"] == DEMO_ID_NUMBER
    assert demo["has_loan"] is True
    assert len(identities["persons"]) >= 3
