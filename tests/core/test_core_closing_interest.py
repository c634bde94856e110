"""Interest by accumulated balance-days: a whole year and an account closed today."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.embedded import finance
from connectors.embedded.context import CoreContext
from connectors.embedded.models import Account, LedgerEntry
from connectors.embedded.retirement import interest_to_date
from engine.policy import Policy

TODAY = dt.date(2026, 12, 4)


def test_interest_over_whole_year() -> None:
    # 20,000 carried earns 300.00 for the year. 1,000 credited on 2025-07-10 earns
    # for 355 days: 14.7917. 5,000 withdrawn on 2026-01-15 loses 166 days: 34.5833.
    movements = [
        (dt.date(2025, 7, 10), D("1000")),
        (dt.date(2026, 1, 15), D("-5000")),
    ]
    assert (dt.date(2026, 6, 30) - movements[0][0]).days == 355
    assert (dt.date(2026, 6, 30) - movements[1][0]).days == 166
    interest = finance.settle_interest(
        D("20000"), movements, D("1.5"), dt.date(2026, 6, 30)
    )
    assert interest == D("280.21")


def test_interest_to_closing_day(core_engine: Engine, policy: Policy) -> None:
    with Session(core_engine) as session:
        account = session.scalars(select(Account).order_by(Account.id)).first()
        session.query(LedgerEntry).filter(LedgerEntry.account_id == account.id).delete()
        for day, credit, balance in (
            (dt.date(2026, 6, 30), D("10000.00"), D("10000.00")),
            (dt.date(2026, 7, 10), D("1440.00"), D("11440.00")),
        ):
            session.add(
                LedgerEntry(
                    account_id=account.id,
                    entry_date=day,
                    entry_type="01",
                    summary="汇缴",
                    debit=D("0.00"),
                    credit=credit,
                    balance=balance,
                )
            )
        session.flush()
        context = CoreContext(session, policy, TODAY)
        # 10,000 carried for the 156 days from 1 July, and 1,440 for the 147 days from
        # 10 July, neither counting 4 December: 1,771,680 balance-days at 1.5% / 360.
        assert (TODAY - dt.date(2026, 7, 1)).days == 156
        assert (TODAY - dt.date(2026, 7, 10)).days == 147
        assert interest_to_date(context, account, TODAY) == D("73.82")
        # On 1 July nothing has earned yet.
        assert interest_to_date(context, account, dt.date(2026, 7, 1)) == D("0.00")
        session.rollback()
