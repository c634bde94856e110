"""The `hall loans collect` command pays due instalments, from the balance if signed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from connectors.embedded.models import LedgerEntry, Loan, LoanInstalment
from engine.cli import main
from engine.clock import business_date


def counts(url: str) -> tuple[int, int, int]:
    """Count unpaid instalments, offset entries and loans with a signed offset."""
    engine = create_engine(url)
    with Session(engine) as session:
        unpaid = session.scalar(
            select(func.count()).where(LoanInstalment.paid_on.is_(None))
        )
        offsets = session.scalar(
            select(func.count()).where(
                LedgerEntry.entry_type == "07", LedgerEntry.account_id.is_not(None)
            )
        )
        signed = session.scalar(
            select(func.count()).where(Loan.offset_signed.is_(True))
        )
    engine.dispose()
    return unpaid, offsets, signed


def test_collect_pays_next_instalments(database_url: str, tmp_path: Path) -> None:
    unpaid, offsets, signed = counts(database_url)
    assert signed > 0
    env = {"HALL_DATABASE_URL": database_url, "HALL_INSTANCE": str(tmp_path)}
    # Each repaying loan has an instalment due within the next 31 days.
    day = (business_date() + dt.timedelta(days=31)).isoformat()

    result = CliRunner().invoke(main, ["loans", "collect", "--date", day], env=env)
    assert result.exit_code == 0, result.output
    paid = int(result.output.split()[1])
    assert paid >= 1
    after_unpaid, after_offsets, _signed = counts(database_url)
    assert after_unpaid == unpaid - paid
    # Each signed loan paid from its balance, unless the balance fell short.
    assert offsets < after_offsets <= offsets + signed

    again = CliRunner().invoke(main, ["loans", "collect", "--date", day], env=env)
    assert again.output.startswith("collected 0 instalments")
