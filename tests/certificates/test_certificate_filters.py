"""The print filters: dates written the Chinese way."""

from __future__ import annotations

import datetime as dt

import pytest

from renderers.pdf.filters import chinese_date, chinese_month


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 7, 1), "2026年7月1日"),
        ("2026-12-04", "2026年12月4日"),
        (dt.date(2025, 10, 10), "2025年10月10日"),
        (None, ""),
    ],
)
def test_chinese_date(value: object, expected: str) -> None:
    assert chinese_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2026-01", "2026年1月"), ("2026-11", "2026年11月"), ("", "")],
)
def test_chinese_month(value: str, expected: str) -> None:
    assert chinese_month(value) == expected
