"""The context of every core operation: one session, the policy and today's date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.policy import Policy


@dataclass(frozen=True)
class CoreContext:
    """The open transaction of one call, the policy figures and the business date."""

    session: Session
    policy: Policy
    today: dt.date
