"""Unit-hall applications delivered twice at once, on SQLite and on PostgreSQL.

A unit submit queues its application without a lock, so a retry that arrives while
the original call runs inserts the same application number too. The retry must get
the original's result, not a unique-key error that costs the delivery an attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from races import accepted, after_joint_lookup, at_once, retried_during_original
from sqlalchemy import func, select

from connectors.base import Caller, Rejected
from connectors.embedded import EmbeddedCore
from connectors.embedded.models import ReviewItem

UNIT = Caller("unit", unit_account="0201000001")
OTHER_UNIT = Caller("unit", unit_account="0201000002")
# A valid ID number that the demo data does not use (born 1995-08-17, male).
NEWCOMER = "440204199508170318"

# Builds an operation name and its params from the core and an application number.
CallMaker = Callable[[EmbeddedCore, str], tuple[str, dict[str, Any]]]


def employees_of(core: EmbeddedCore) -> list[dict[str, Any]]:
    return core.call("unit.employees", UNIT, {})


def open_account(core: EmbeddedCore, number: str) -> tuple[str, dict[str, Any]]:
    return "account.open", {
        "application_number": number,
        "first_month": "2026-12",
        "employees": [
            {
                "id_number": NEWCOMER,
                "name": "何嘉欣",
                "mobile": "13800138000",
                "base": Decimal("6000.00"),
                "unit_deposit": Decimal("720.00"),
                "person_deposit": Decimal("720.00"),
            }
        ],
    }


def base_change(core: EmbeddedCore, number: str) -> tuple[str, dict[str, Any]]:
    account = employees_of(core)[0]["person_account"]
    return "person.base_change", {
        "application_number": number,
        "effective_month": "2026-12",
        "employees": [{"person_account": account, "base": Decimal(10000)}],
    }


def ratio_change(core: EmbeddedCore, number: str) -> tuple[str, dict[str, Any]]:
    return "unit.ratio_change", {
        "application_number": number,
        "effective_month": "2026-12",
        "new_unit_ratio": Decimal(9),
        "new_person_ratio": Decimal(9),
    }


def employee_change(core: EmbeddedCore, number: str) -> tuple[str, dict[str, Any]]:
    employee = core.call("unit.employee_list", UNIT, {})[-1]
    return "person.change", {
        "application_number": number,
        "id_number": employee["id_number"],
        "name": employee["name"],
        "mobile": "13700001234",
    }


def unit_change(core: EmbeddedCore, number: str) -> tuple[str, dict[str, Any]]:
    details = core.call("unit.details", UNIT, {})
    details["address"] = "广东省韶关市浈江区新华南路8号"
    return "unit.change", {"application_number": number, **details}


def seal(core: EmbeddedCore, number: str) -> tuple[str, dict[str, Any]]:
    employee = core.call("unit.employee_list", UNIT, {})[-1]
    return "person.seal_transfer", {
        "application_number": number,
        "action": "seal",
        "effective_month": "2026-12",
        "reason": "离职",
        "employees": [{"id_number": employee["id_number"]}],
    }


CASES = [
    pytest.param(open_account, id="account_open"),
    pytest.param(base_change, id="base_change"),
    pytest.param(ratio_change, id="ratio_change"),
    pytest.param(employee_change, id="employee_change"),
    pytest.param(unit_change, id="unit_change"),
    pytest.param(seal, id="seal"),
]


def queued(core: EmbeddedCore, number: str) -> int:
    with core.session_factory() as session:
        return session.scalar(
            select(func.count())
            .select_from(ReviewItem)
            .where(ReviewItem.application_number == number)
        )


@pytest.mark.parametrize("submit", CASES)
def test_submit_alone_is_accepted(race_core: EmbeddedCore, submit: CallMaker) -> None:
    # Each case is a valid application, so a race test fails only for the race.
    operation, params = submit(race_core, "U20261204900060")
    assert race_core.call(operation, UNIT, params) == {"status": "pending"}


@pytest.mark.parametrize("submit", CASES)
def test_retry_during_original_is_accepted(
    race_core: EmbeddedCore, monkeypatch: pytest.MonkeyPatch, submit: CallMaker
) -> None:
    number = "U20261204900061"
    call = submit(race_core, number)
    results = retried_during_original(race_core, UNIT, call, monkeypatch)
    assert results[0] == {"status": "pending"}
    assert results[1] == {"status": "pending"}
    assert queued(race_core, number) == 1


@pytest.mark.parametrize("submit", CASES)
def test_many_retries_at_once(race_core: EmbeddedCore, submit: CallMaker) -> None:
    number = "U20261204900062"
    call = submit(race_core, number)
    results = at_once(race_core, UNIT, [call, call, call, call])
    assert results == [{"status": "pending"}] * 4
    assert queued(race_core, number) == 1


def test_number_raced_by_other_unit(
    race_core: EmbeddedCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same number from another unit at the same moment is another application,
    # so the call that queues second is rejected, never given the first one's result.
    number = "U20261204900063"
    operation, params = ratio_change(race_core, number)
    calls = [(UNIT, operation, params), (OTHER_UNIT, operation, params)]
    results = after_joint_lookup(race_core, calls, monkeypatch)
    rejected = [result for result in results if isinstance(result, Rejected)]
    assert accepted(results) == [{"status": "pending"}]
    assert len(rejected) == 1
    assert "已被其他申报使用" in rejected[0].message
    assert queued(race_core, number) == 1
