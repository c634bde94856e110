"""Withdrawals submitted at the same moment, on SQLite and on PostgreSQL.

Two withdrawals of one account never claim more than its balance, and a depositor
never has two open applications of one withdrawal kind, however the requests
interleave.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from connectors.base import Caller, Rejected
from connectors.embedded import EmbeddedCore, review
from connectors.embedded.demo_data import seed
from connectors.embedded.models import Account, CoreBase, Loan, ReviewItem
from engine.policy import Policy
from engine.storage.db import make_engine

# The shared PostgreSQL server; each test creates and drops its own database there.
POSTGRES_URL = os.environ.get(
    "HALL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CARD = "6217000000000000004"
# The business day the demo data is seeded for.
TODAY = dt.date(2026, 12, 4)


def _admin(statement: str) -> None:
    url = make_url(POSTGRES_URL)
    with psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        autocommit=True,
    ) as connection:
        connection.execute(statement)


def _seeded(url: str, policy: Policy) -> Engine:
    engine = make_engine(url)
    CoreBase.metadata.create_all(engine)
    with Session(engine) as session:
        seed(session, policy, TODAY)
        session.commit()
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, policy: Policy
) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = _seeded(f"sqlite:///{tmp_path / 'core.db'}", policy)
        yield engine
        engine.dispose()
        return
    name = f"hall_withdrawal_race_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        engine = _seeded(
            make_url(POSTGRES_URL).set(database=name).render_as_string(False), policy
        )
        yield engine
        engine.dispose()
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def race_core(database: Engine, policy: Policy) -> EmbeddedCore:
    factory = sessionmaker(database, expire_on_commit=False)
    return EmbeddedCore(factory, policy, lambda: TODAY)


def tenant(core: EmbeddedCore) -> Account:
    """Return an active account without a loan, deposited up to last month."""
    with core.session_factory() as session:
        return session.scalars(
            select(Account)
            .where(
                Account.status == "01",
                Account.person_id.not_in(select(Loan.person_id)),
                Account.last_paid_month == "2026-11",
                Account.balance > Decimal("1000"),
            )
            .order_by(Account.person_account)
        ).first()


def rent(number: str, amount: Decimal, rent: Decimal) -> tuple[str, dict[str, Any]]:
    return "withdrawal.rent", {
        "application_number": number,
        "housing_type": "public",
        "period": {"from": "2026-12", "to": "2027-11"},
        "monthly_rent": rent,
        "amount": amount,
        "bank_card": CARD,
    }


def repayment(number: str, amount: Decimal, repaid: Decimal) -> tuple[str, dict]:
    return "withdrawal.repayment", {
        "application_number": number,
        "loan_type": "commercial",
        "commercial_bank": "中国银行",
        "commercial_contract": "ZH2025001",
        "repaid_total": repaid,
        "amount": amount,
        "attachments": [{"kind": "loan_contract"}, {"kind": "repayment_record"}],
    }


def at_once(
    core: EmbeddedCore, caller: Caller, calls: list[tuple[str, dict[str, Any]]]
) -> list[Any]:
    """Start every call at the same moment; return each result or its Rejected."""
    barrier = threading.Barrier(len(calls))

    def run(call: tuple[str, dict[str, Any]]) -> Any:
        barrier.wait()
        try:
            return core.call(call[0], caller, call[1])
        except Rejected as error:
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def pending(core: EmbeddedCore, person_account: str) -> list[ReviewItem]:
    with core.session_factory() as session:
        return list(
            session.scalars(
                select(ReviewItem).where(
                    ReviewItem.person_account == person_account,
                    ReviewItem.status == "pending",
                )
            )
        )


def accepted(results: list[Any]) -> list[Any]:
    return [result for result in results if not isinstance(result, Rejected)]


def test_two_kinds_never_exceed_balance(race_core: EmbeddedCore) -> None:
    account = tenant(race_core)
    caller = Caller("person", person_account=account.person_account)
    # Each alone fits; together they would take out 140% of the balance.
    amount = (account.balance * Decimal("0.7")).quantize(Decimal("0.01"))
    results = at_once(
        race_core,
        caller,
        [
            rent("P20261204900001", amount, account.balance),
            repayment("P20261204900002", amount, account.balance),
        ],
    )
    assert len(accepted(results)) == 1
    refused = [result for result in results if isinstance(result, Rejected)]
    assert "账户可提取余额" in refused[0].message
    claimed = sum(
        Decimal(item.payload["amount"])
        for item in pending(race_core, account.person_account)
    )
    assert claimed == amount

    number = pending(race_core, account.person_account)[0].application_number
    race_core.approve(number, "reviewer")
    with race_core.session_factory() as session:
        balance = session.get_one(Account, account.id).balance
    assert balance == account.balance - amount


def test_one_open_application_per_kind(race_core: EmbeddedCore) -> None:
    account = tenant(race_core)
    caller = Caller("person", person_account=account.person_account)
    small = Decimal("100.00")
    results = at_once(
        race_core,
        caller,
        [
            rent("P20261204900011", small, small),
            rent("P20261204900012", small, small),
            rent("P20261204900013", small, small),
        ],
    )
    assert len(accepted(results)) == 1
    for result in results:
        if isinstance(result, Rejected):
            assert "待审核的租房提取申请" in result.message
    assert len(pending(race_core, account.person_account)) == 1


def test_retry_during_original_is_accepted(
    race_core: EmbeddedCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A delivery retried while the original call still runs must get the original's
    # result, because a rejection would return an application the core has queued.
    account = tenant(race_core)
    caller = Caller("person", person_account=account.person_account)
    original_lookup = review.already_submitted
    both_looked_up = threading.Barrier(2)
    thread_state = threading.local()

    def lookup_then_wait(*args: Any) -> dict[str, Any] | None:
        # Both calls find the number unused before either takes the account's lock.
        result = original_lookup(*args)
        if not getattr(thread_state, "waited", False):
            thread_state.waited = True
            both_looked_up.wait(timeout=10)
        return result

    monkeypatch.setattr(review, "already_submitted", lookup_then_wait)
    small = Decimal("100.00")
    call = rent("P20261204900031", small, small)
    results = at_once(race_core, caller, [call, call])
    for result in results:
        assert result == {"status": "pending"}
    assert len(pending(race_core, account.person_account)) == 1


def test_approval_checks_balance_again(race_core: EmbeddedCore) -> None:
    account = tenant(race_core)
    caller = Caller("person", person_account=account.person_account)
    whole = account.balance
    call, params = rent("P20261204900021", whole, whole)
    race_core.call(call, caller, params)
    # The balance falls before the review, as if a deduction came in between.
    with race_core.session_factory() as session, session.begin():
        session.get_one(Account, account.id).balance -= Decimal("0.01")
    with pytest.raises(Rejected, match="不足"):
        race_core.approve("P20261204900021", "reviewer")
    with race_core.session_factory() as session:
        assert session.get_one(Account, account.id).balance == whole - Decimal("0.01")
