"""The large demo unit: its seed, the paged employee page and the query plans.

The unit here has 300 employees of 12 ledger entries each, the shape of the full
20,000 x 100 unit at a size a test seeds in a second.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.orm import Session
from stdnum.cn import ric
from support import login_unit
from testdb import TestDatabases

from connectors.base import PAGE_PARAM, PAGED_ROWS, Caller
from connectors.embedded import codes, finance
from connectors.embedded.demo_large import (
    LARGE_UNIT_ACCOUNT,
    LARGE_UNIT_RATIO,
    SEALED_EVERY,
    seed_large,
    slots,
)
from connectors.embedded.models import (
    Account,
    CoreBase,
    InterestSettlement,
    LedgerEntry,
    Person,
    Unit,
)
from engine import create_app
from engine.commands import seed_demo, seed_large_unit
from engine.migrate import upgrade
from engine.pages import sort_rows
from engine.policy import Policy
from engine.storage.models import LoginAccount

EMPLOYEES = 300
ENTRIES = 12
SEED_DAY = dt.date(2026, 12, 4)
URL = "/unit/unit-employees"
SORTABLE = (
    "person_account",
    "name",
    "id_number",
    "sex",
    "base",
    "unit_deposit",
    "person_deposit",
    "balance",
    "status_label",
    "last_paid_month",
    "opened_on",
)


def _fill(url: str, folder: Path) -> None:
    upgrade(url)
    app = _app(url, folder)
    hall = app.extensions["hall"]
    try:
        with hall.session_factory() as session:
            seed_demo(session, hall.policy, SEED_DAY)
            seed_large_unit(
                session,
                hall.policy,
                SEED_DAY,
                employees=EMPLOYEES,
                entries_per_employee=ENTRIES,
            )
    finally:
        hall.session_factory.kw["bind"].dispose()


def _app(url: str, folder: Path) -> Flask:
    return create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(folder),
            "ATTACHMENTS_DIR": str(folder / "attachments"),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )


@pytest.fixture(scope="session")
def large_template(
    test_databases: TestDatabases, tmp_path_factory: pytest.TempPathFactory
) -> str:
    folder = tmp_path_factory.mktemp("large-template")
    return test_databases.template("large", lambda url: _fill(url, folder))


@pytest.fixture
def large_app(
    test_databases: TestDatabases, large_template: str, tmp_path: Path
) -> Iterator[Flask]:
    url = test_databases.copy(large_template, tmp_path)
    app = _app(url, tmp_path)
    yield app
    app.extensions["hall"].session_factory.kw["bind"].dispose()
    test_databases.drop(url)


@pytest.fixture
def session(large_app: Flask) -> Iterator[Session]:
    with large_app.extensions["hall"].session_factory() as session:
        yield session


@pytest.fixture
def large_client(large_app: Flask) -> FlaskClient:
    client = large_app.test_client()
    login_unit(client, large_app, LARGE_UNIT_ACCOUNT)
    return client


def unit_accounts(session: Session) -> list[Account]:
    unit_id = session.scalar(
        select(Unit.id).where(Unit.unit_account == LARGE_UNIT_ACCOUNT)
    )
    return list(
        session.scalars(
            select(Account)
            .where(Account.unit_id == unit_id)
            .order_by(Account.person_account)
        )
    )


# The seed


def test_slots_fill_exact_count() -> None:
    laid_out = slots(SEED_DAY, 100, 10)
    days = [slot.day for slot in laid_out]
    assert len(laid_out) == 100
    assert laid_out[0].entry_type == codes.OPENING_BALANCE
    assert days == sorted(days)
    assert days[-1] < SEED_DAY
    interest_days = [s.day for s in laid_out if s.entry_type == codes.INTEREST]
    assert all(day.month == 6 and day.day == 30 for day in interest_days)
    # The 99 entries after the opening balance run from May 2019 to November
    # 2026, which contains eight 30 Junes.
    assert len(interest_days) == 8


def test_slots_skip_month_before_debit_day() -> None:
    laid_out = slots(dt.date(2026, 12, 4), 3, 10)
    assert [slot.day for slot in laid_out] == [
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 10),
        dt.date(2026, 11, 10),
    ]


def test_seed_counts(session: Session) -> None:
    accounts = unit_accounts(session)
    account_ids = [account.id for account in accounts]
    entries = session.scalar(
        select(func.count(LedgerEntry.id)).where(
            LedgerEntry.account_id.in_(account_ids)
        )
    )
    sealed = [account for account in accounts if account.status == codes.SEALED]
    login = session.scalar(
        select(LoginAccount.id).where(
            LoginAccount.hall == "unit", LoginAccount.subject == LARGE_UNIT_ACCOUNT
        )
    )
    assert len(accounts) == EMPLOYEES
    assert entries == EMPLOYEES * ENTRIES
    assert len(sealed) == EMPLOYEES // SEALED_EVERY
    assert login is not None


def test_identifiers_valid_and_unique(session: Session) -> None:
    accounts = unit_accounts(session)
    people = session.scalars(
        select(Person).where(Person.id.in_([a.person_id for a in accounts]))
    ).all()
    every_id_number = session.scalars(select(Person.id_number)).all()
    numbers = [account.person_account for account in accounts]
    assert len(people) == EMPLOYEES
    assert [p.id_number for p in people if not ric.is_valid(p.id_number)] == []
    assert len(set(every_id_number)) == len(every_id_number)
    assert all(re.fullmatch(r"[0-9]{12}", number) for number in numbers)
    assert len(set(numbers)) == EMPLOYEES
    for person in people:
        assert ric.get_birth_date(person.id_number) == person.birth_date
        # The 17th digit is odd for men and even for women.
        assert int(person.id_number[16]) % 2 == (1 if person.sex == "1" else 0)


def test_balances_run_consistently(session: Session, large_app: Flask) -> None:
    policy = large_app.extensions["hall"].policy
    for account in unit_accounts(session)[:40]:
        entries = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.account_id == account.id)
            .order_by(LedgerEntry.entry_date, LedgerEntry.sequence, LedgerEntry.id)
        ).all()
        balance = Decimal("0.00")
        for entry in entries:
            balance += entry.credit - entry.debit
            assert entry.balance == balance, (account.person_account, entry.id)
        assert account.balance == balance
        last_remittance = [e for e in entries if e.entry_type == codes.REMITTANCE][-1]
        places = finance.deposit_places(policy, last_remittance.entry_date)
        deposit = finance.monthly_deposit(
            account.base, LARGE_UNIT_RATIO, LARGE_UNIT_RATIO, places
        )
        assert last_remittance.credit == deposit.total
        assert account.last_paid_month == f"{last_remittance.entry_date:%Y-%m}"


def test_interest_matches_settlements(session: Session) -> None:
    account = unit_accounts(session)[7]
    postings = session.scalars(
        select(LedgerEntry.credit).where(
            LedgerEntry.account_id == account.id,
            LedgerEntry.entry_type == codes.INTEREST,
        )
    ).all()
    settled = session.scalars(
        select(InterestSettlement.interest)
        .where(InterestSettlement.account_id == account.id)
        .order_by(InterestSettlement.year)
    ).all()
    assert postings == settled
    assert len(postings) == 1


def test_unit_ledger_sums_accounts(session: Session) -> None:
    accounts = unit_accounts(session)
    unit_id = accounts[0].unit_id
    last_unit_balance = session.scalars(
        select(LedgerEntry.balance)
        .where(LedgerEntry.unit_id == unit_id)
        .order_by(LedgerEntry.entry_date.desc(), LedgerEntry.id.desc())
        .limit(1)
    ).one()
    assert last_unit_balance == sum(account.balance for account in accounts)


def test_second_seed_does_nothing(session: Session, large_app: Flask) -> None:
    policy = large_app.extensions["hall"].policy
    before = session.scalar(select(func.count(LedgerEntry.id)))
    again = seed_large_unit(
        session, policy, SEED_DAY, employees=EMPLOYEES, entries_per_employee=ENTRIES
    )
    after = session.scalar(select(func.count(LedgerEntry.id)))
    assert again is None
    assert after == before


@pytest.mark.parametrize("entries", [1, 2, 5])
def test_seed_few_entries_on_sqlite(
    entries: int, policy: Policy, tmp_path: Path
) -> None:
    """Ledgers that end before their first 30 June have no interest settlement."""
    engine = create_engine(f"sqlite:///{tmp_path / 'few-entries.db'}")
    CoreBase.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            result = seed_large(
                session, policy, SEED_DAY, employees=3, entries_per_employee=entries
            )
            session.commit()
            accounts = unit_accounts(session)
            ledger = session.scalar(
                select(func.count(LedgerEntry.id)).where(
                    LedgerEntry.account_id.is_not(None)
                )
            )
            settlements = session.scalar(select(func.count(InterestSettlement.id)))
    finally:
        engine.dispose()
    assert result is not None
    assert result.ledger_entries == 3 * entries
    assert len(accounts) == 3
    assert ledger == 3 * entries
    assert settlements == 0


def test_seed_rejects_empty_sizes(session: Session, large_app: Flask) -> None:
    policy = large_app.extensions["hall"].policy
    with pytest.raises(ValueError, match="at least one employee"):
        seed_large(session, policy, SEED_DAY, employees=0)


# The employee page


def page_accounts(response: Any) -> list[str]:
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    rows = soup.select("table.result-table tbody tr")
    return [row.find("td").get_text(strip=True) for row in rows]


def page_total(response: Any) -> int:
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return int(soup.select_one("p.count").get_text().split()[1])


def test_page_lists_first_twenty(
    large_client: FlaskClient, session: Session
) -> None:
    numbers = [account.person_account for account in unit_accounts(session)]
    response = large_client.get(URL)
    assert response.status_code == 200
    assert page_total(response) == EMPLOYEES
    assert page_accounts(response) == numbers[:20]


def test_page_three_and_past_end(
    large_client: FlaskClient, session: Session
) -> None:
    numbers = [account.person_account for account in unit_accounts(session)]
    third = large_client.get(URL, query_string={"run": "1", "page": "3"})
    past_end = large_client.get(URL, query_string={"run": "1", "page": "999"})
    assert page_accounts(third) == numbers[40:60]
    assert page_accounts(past_end) == numbers[-20:]


def test_page_sorted_by_balance(
    large_client: FlaskClient, session: Session
) -> None:
    accounts = unit_accounts(session)
    expected = sorted(accounts, key=lambda account: -account.balance)
    response = large_client.get(
        URL, query_string={"run": "1", "sort": "balance", "dir": "desc"}
    )
    assert page_total(response) == EMPLOYEES
    assert page_accounts(response) == [a.person_account for a in expected[:20]]


def test_page_filters_status(large_client: FlaskClient, session: Session) -> None:
    sealed = [
        account.person_account
        for account in unit_accounts(session)
        if account.status == codes.SEALED
    ]
    response = large_client.get(URL, query_string={"run": "1", "status": "02"})
    assert page_total(response) == len(sealed)
    assert page_accounts(response) == sealed


def test_page_filters_name(large_client: FlaskClient, session: Session) -> None:
    surname = "王"
    expected = session.scalars(
        select(Account.person_account)
        .join(Person, Person.id == Account.person_id)
        .join(Unit, Unit.id == Account.unit_id)
        .where(
            Unit.unit_account == LARGE_UNIT_ACCOUNT, Person.name.contains(surname)
        )
        .order_by(Account.person_account)
    ).all()
    response = large_client.get(URL, query_string={"run": "1", "name": surname})
    assert expected
    assert page_total(response) == len(expected)
    assert page_accounts(response) == list(expected[:20])


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("column", SORTABLE)
def test_paged_order_matches_full_list(
    large_app: Flask, column: str, descending: bool
) -> None:
    """Each database-sorted page equals the same page of the hall's own sort."""
    router = large_app.extensions["hall"].router
    caller = Caller("unit", unit_account=LARGE_UNIT_ACCOUNT)
    every_row = router.call("unit.employee_list", caller, {})
    result = large_app.extensions["hall"].services["unit-employees"].result
    ordered = sort_rows(result, every_row, column, descending)
    expected = [row["person_account"] for row in ordered]
    for number in (1, 2, 15):
        page = {"number": number, "size": 20, "sort": column, "descending": descending}
        answer = router.call("unit.employee_list", caller, {PAGE_PARAM: page})
        served = [row["person_account"] for row in answer[PAGED_ROWS]]
        assert answer["total"] == EMPLOYEES
        assert served == expected[(number - 1) * 20 : number * 20], number


def test_page_param_out_of_range(large_app: Flask) -> None:
    router = large_app.extensions["hall"].router
    caller = Caller("unit", unit_account=LARGE_UNIT_ACCOUNT)
    hostile = {"number": -5, "size": 10**6, "sort": "id; DROP", "descending": "yes"}
    answer = router.call("unit.employee_list", caller, {PAGE_PARAM: hostile})
    assert answer["page"] == 1
    assert len(answer[PAGED_ROWS]) == 200
    served = [row["person_account"] for row in answer[PAGED_ROWS]]
    assert served == sorted(served)


# Query plans


class StatementLog:
    """The SQL statements and parameters an engine sent while it was listened to."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[tuple[str, Any]] = []

    def __enter__(self) -> StatementLog:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, *args: Any) -> None:
        # before_cursor_execute passes (connection, cursor, statement, parameters,
        # context, executemany).
        self.statements.append((args[2], args[3]))

    def find(self, *fragments: str) -> tuple[str, Any]:
        for statement, parameters in self.statements:
            if all(fragment in statement for fragment in fragments):
                return statement, parameters
        raise AssertionError(f"no statement contains {fragments}")


def plan_of(engine: Engine, statement: str, parameters: Any) -> str:
    """Return the database's plan of a statement as one text."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters
            ).all()
            return "\n".join(str(row[-1]) for row in rows)
        # A 300-row table fits in a few pages, so PostgreSQL would scan it whole
        # whatever the indexes. With sequential scans priced out, the plan shows
        # whether an index serves the query.
        connection.exec_driver_sql("SET enable_seqscan = off")
        rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        return "\n".join(str(row[0]) for row in rows)


def test_employee_page_plan(large_app: Flask) -> None:
    engine = large_app.extensions["hall"].session_factory.kw["bind"]
    router = large_app.extensions["hall"].router
    caller = Caller("unit", unit_account=LARGE_UNIT_ACCOUNT)
    page = {"number": 3, "size": 20, "sort": "person_account", "descending": False}
    with StatementLog(engine) as log:
        router.call("unit.employee_list", caller, {PAGE_PARAM: page})
    statement, parameters = log.find("core_account", "LIMIT")
    plan = plan_of(engine, statement, parameters)
    assert "ix_core_account_unit_person_account" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    assert "Sort" not in plan, plan


def test_ledger_range_plan(large_app: Flask, session: Session) -> None:
    engine = large_app.extensions["hall"].session_factory.kw["bind"]
    router = large_app.extensions["hall"].router
    account = unit_accounts(session)[5]
    id_number = session.get_one(Person, account.person_id).id_number
    caller = Caller("unit", unit_account=LARGE_UNIT_ACCOUNT)
    params = {"id_number": id_number, "from_month": "2026-01", "to_month": "2026-12"}
    with StatementLog(engine) as log:
        answer = router.call("unit.employee_ledger", caller, params)
    range_statement = log.find("core_ledger_entry", "entry_date")
    person_statement = log.find("core_account", "id_number")
    range_plan = plan_of(engine, *range_statement)
    person_plan = plan_of(engine, *person_statement)
    assert answer["entries"]
    assert "ix_core_ledger_account_date_sequence" in range_plan, range_plan
    assert "TEMP B-TREE" not in range_plan, range_plan
    assert "Sort" not in range_plan, range_plan
    assert "ix_core_account_person_unit" in person_plan, person_plan


def test_balance_sorted_page_plan(large_app: Flask) -> None:
    engine = large_app.extensions["hall"].session_factory.kw["bind"]
    router = large_app.extensions["hall"].router
    caller = Caller("unit", unit_account=LARGE_UNIT_ACCOUNT)
    page = {"number": 2, "size": 20, "sort": "balance", "descending": True}
    with StatementLog(engine) as log:
        router.call("unit.employee_list", caller, {PAGE_PARAM: page})
    statement, parameters = log.find("core_account", "LIMIT")
    plan = plan_of(engine, statement, parameters)
    assert "ix_core_account_unit_balance" in plan, plan
