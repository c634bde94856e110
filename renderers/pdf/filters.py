"""The filters and functions that print templates may use, without WeasyPrint.

The spec checker reads print templates with the same names, so it imports them
from here rather than loading the PDF renderer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

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


DIGITS = "零一二三四五六七八九"


def chinese_count(value: Any) -> str:
    """Write a whole number from 1 to 999 in Chinese numerals, as 三十 or 一百零五.

    Official documents write counts of days this way, such as 三十日内有效.
    """
    number = int(value)
    if not 0 < number < 1000:
        raise ValueError(f"{number} is outside the counts 1 to 999 written in words")
    hundreds, rest = divmod(number, 100)
    tens, ones = divmod(rest, 10)
    words = ""
    if hundreds:
        words += DIGITS[hundreds] + "百"
        if rest and tens == 0:
            words += "零"
    if tens:
        # 十五 on its own, but 一百一十五 after hundreds.
        words += ("" if tens == 1 and not hundreds else DIGITS[tens]) + "十"
    if ones:
        words += DIGITS[ones]
    return words


# The statement's name column fits this many hanzi at 9pt (see certificate.css).
NAME_CHARACTERS = 6
# Names of many ethnic minorities join their parts with a middle dot: U+00B7 as
# resident ID cards print it, or U+30FB and U+FF0E where GB2312 input typed it.
NAME_DOTS = "\u00b7\u30fb\uff0e"


def name_cell(name: Any) -> Markup:
    """Mark up a name for a narrow table cell so that it wraps only between its parts.

    A name that fits the column never wraps. A longer one may break only after a
    middle dot, and each part that fits the column stays on one line. A part longer
    than the column wraps where it must, rather than overflow into the next cell,
    but keeps its last character with its dot.
    """
    text = str(name or "")
    if len(text) <= NAME_CHARACTERS:
        return Markup('<span class="nowrap">{}</span>').format(text)
    parts = []
    start = 0
    for index, char in enumerate(text):
        if char in NAME_DOTS:
            parts.append(text[start : index + 1])
            start = index + 1
    parts.append(text[start:])
    marked = []
    for part in filter(None, parts):
        if len(part) <= NAME_CHARACTERS:
            marked.append(Markup('<span class="nowrap">{}</span>').format(part))
        else:
            tail = Markup('<span class="nowrap">{}</span>').format(part[-2:])
            marked.append(escape(part[:-2]) + tail)
    return Markup("<wbr>").join(marked)


PRINT_FILTERS: dict[str, Callable[..., str]] = {
    "money": money,
    "capitals": capitals,
    "chinese_date": chinese_date,
    "chinese_month": chinese_month,
    "chinese_count": chinese_count,
    "name_cell": name_cell,
}
PRINT_GLOBALS: dict[str, Callable[..., str]] = {"qr_data_uri": qr_data_uri}
