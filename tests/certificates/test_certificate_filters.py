"""The print filters: Chinese dates and names marked up for narrow table cells."""

from __future__ import annotations

import datetime as dt

import pytest

from renderers.pdf.filters import chinese_date, chinese_month, name_cell

NOWRAP = '<span class="nowrap">{}</span>'


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


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("陈志远", NOWRAP.format("陈志远")),
        ("司马相如之子", NOWRAP.format("司马相如之子")),
        ("阿依·买提", NOWRAP.format("阿依·买提")),
        (
            "阿依古丽·买买提",
            NOWRAP.format("阿依古丽·") + "<wbr>" + NOWRAP.format("买买提"),
        ),
        (
            "阿依古丽・买买提",
            NOWRAP.format("阿依古丽・") + "<wbr>" + NOWRAP.format("买买提"),
        ),
        # A part longer than the column may wrap, but never right before its dot.
        (
            "穆罕默德艾力阿卜杜拉·买买提",
            "穆罕默德艾力阿卜杜"
            + NOWRAP.format("拉·")
            + "<wbr>"
            + NOWRAP.format("买买提"),
        ),
    ],
)
def test_name_cell(name: str, expected: str) -> None:
    assert str(name_cell(name)) == expected


def test_name_cell_escapes_markup() -> None:
    assert str(name_cell("<王>")) == NOWRAP.format("&lt;王&gt;")
    marked = str(name_cell("<i>阿依古丽</i>·买买提"))
    assert "<i>" not in marked
    assert "&lt;i&gt;阿依古丽&lt;/" in marked
