"""The hall's clock: the current instant and the business date of the fund centre.

The fund centre works on the China calendar, so application numbers, opening dates,
ledger entry dates, due dates and policy figures all take the date in Asia/Shanghai.
Stored timestamps stay in UTC. Tests pin the time by replacing `now`, which moves
timestamps and business dates together.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

FUND_CENTRE_ZONE = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    """Return the current instant as an aware datetime in UTC."""
    return dt.datetime.now(dt.UTC)


def business_date(instant: dt.datetime | None = None) -> dt.date:
    """Return the fund centre's calendar date at `instant`, by default at `now()`.

    A naive `instant` is read as UTC, the zone of the stored timestamps.
    """
    if instant is None:
        instant = now()
    elif instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(FUND_CENTRE_ZONE).date()
