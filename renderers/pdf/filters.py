"""The filters and functions that print templates may use, without WeasyPrint.

The spec checker reads print templates with the same names, so it imports them
from here rather than loading the PDF renderer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.money import format_yuan
from renderers.pdf.capitals import amount_in_capitals
from renderers.pdf.qr import qr_data_uri


def money(value: Any) -> str:
    """Format yuan with separators and two decimals, as the certificates print them."""
    if value is None or value == "":
        return ""
    return format_yuan(Decimal(str(value)))


def capitals(value: Any) -> str:
    return amount_in_capitals(Decimal(str(value)))


def chinese_date(value: Any) -> str:
    """Write a date as 2026年7月4日.

    The layout standard of official documents, GB/T 9704-2012, writes month and day
    without a leading zero, so 2026年07月04日 would read as a form filled by machine.
    """
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def chinese_month(value: Any) -> str:
    """Write 'YYYY-MM' as 2026年7月."""
    if not value:
        return ""
    year, month = str(value)[:7].split("-")
    return f"{year}年{int(month)}月"


PRINT_FILTERS: dict[str, Callable[..., str]] = {
    "money": money,
    "capitals": capitals,
    "chinese_date": chinese_date,
    "chinese_month": chinese_month,
}
PRINT_GLOBALS: dict[str, Callable[..., str]] = {"qr_data_uri": qr_data_uri}
