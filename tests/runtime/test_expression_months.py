"""The months() function of spec expressions, which counts a month range."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.expressions import compile_expression


def months(period: object) -> object:
    return compile_expression("months(period)").evaluate({"period": period})


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        ("2026-01", "2026-01", 1),  # one month counts once
        ("2026-01", "2026-12", 12),
        ("2025-11", "2026-02", 4),  # across a new year
    ],
)
def test_months_counts_both_ends(start: str, end: str, count: int) -> None:
    assert months({"from": start, "to": end}) == Decimal(count)


@pytest.mark.parametrize(
    "period",
    [
        None,  # the field is empty
        {"from": "2026-05", "to": ""},  # one end missing
        {"from": "2026-05", "to": "2026-04"},  # reversed
        {"from": "May", "to": "2026-04"},  # not a month
        "2026-05",  # not a range
    ],
)
def test_months_of_incomplete_range_is_empty(period: object) -> None:
    assert months(period) is None


def test_months_in_a_limit() -> None:
    expression = compile_expression(
        "min(rent, policy.limit) * months(period) if kind == 'capped' "
        "else rent * months(period)"
    )
    period = {"from": "2026-01", "to": "2026-06"}
    figures = {"limit": Decimal("1500")}
    capped = {"rent": Decimal("2000"), "kind": "capped", "period": period}
    assert expression.evaluate(capped, figures) == Decimal("9000")
    actual = {"rent": Decimal("2000"), "kind": "actual", "period": period}
    assert expression.evaluate(actual, figures) == Decimal("12000")
