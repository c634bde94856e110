"""The business date: the calendar date in China, whatever the machine's zone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import clock
from engine.cli import main
from engine.clock import business_date
from engine.expressions import compile_expression
from engine.fields import Invalid, parse_value
from engine.service import Field
from engine.storage.models import utcnow

# 06:50 on 5 December in China, still 4 December in UTC.
PINNED = dt.datetime(2026, 12, 4, 22, 50, tzinfo=dt.UTC)


@pytest.fixture
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> dt.datetime:
    monkeypatch.setattr(clock, "now", lambda: PINNED)
    return PINNED


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (dt.datetime(2026, 12, 4, 15, 59, 59, tzinfo=dt.UTC), dt.date(2026, 12, 4)),
        (dt.datetime(2026, 12, 4, 16, 0, tzinfo=dt.UTC), dt.date(2026, 12, 5)),
        (PINNED, dt.date(2026, 12, 5)),
        # New Year's Eve in UTC is already New Year's Day in China.
        (dt.datetime(2026, 12, 31, 20, 0, tzinfo=dt.UTC), dt.date(2027, 1, 1)),
    ],
)
def test_business_date_of_instant(instant: dt.datetime, expected: dt.date) -> None:
    assert business_date(instant) == expected


def test_naive_instant_read_as_utc() -> None:
    assert business_date(PINNED.replace(tzinfo=None)) == dt.date(2026, 12, 5)


def test_aware_instant_in_other_zone() -> None:
    new_york = dt.timezone(dt.timedelta(hours=-5))
    assert business_date(PINNED.astimezone(new_york)) == dt.date(2026, 12, 5)


def test_default_uses_pinned_clock(pinned_clock: dt.datetime) -> None:
    assert business_date() == dt.date(2026, 12, 5)


def test_stored_timestamp_stays_utc(pinned_clock: dt.datetime) -> None:
    assert utcnow() == dt.datetime(2026, 12, 4, 22, 50)


def test_spec_expressions_use_business_date(pinned_clock: dt.datetime) -> None:
    places = {"deposit_places": Decimal(0)}
    assert compile_expression("today()").evaluate({}, places) == dt.date(2026, 12, 5)
    assert compile_expression("this_month()").evaluate({}, places) == "2026-12"


def test_not_future_accepts_business_date(pinned_clock: dt.datetime) -> None:
    field = Field(name="day", type="date", label="日期", checks={"not-future": True})
    assert parse_value(field, "2026-12-05") == dt.date(2026, 12, 5)
    with pytest.raises(Invalid) as raised:
        parse_value(field, "2026-12-06")
    assert raised.value.code == "not-future"


def test_collect_defaults_to_business_date(
    pinned_clock: dt.datetime, database_url: str, tmp_path: Path
) -> None:
    env = {"HALL_DATABASE_URL": database_url, "HALL_INSTANCE": str(tmp_path)}
    result = CliRunner().invoke(main, ["loans", "collect"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("due by 2026-12-05")
