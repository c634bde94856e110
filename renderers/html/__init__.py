"""Jinja filters of the hall's HTML pages."""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from flask import Flask

from engine.clock import FUND_CENTRE_ZONE
from engine.money import format_yuan
from renderers.html.chart import line_chart

# The zone the pages show times in: the fund centre's.
LOCAL_ZONE = FUND_CENTRE_ZONE


def display(value: Any, kind: str = "text") -> str:
    """Format a value for a card or a table cell by its column type."""
    if value is None or value == "":
        return ""
    if kind == "money" and isinstance(value, (Decimal, int, str)):
        return format_yuan(Decimal(str(value)))
    if kind == "percent":
        return f"{Decimal(str(value)).normalize():f}%"
    if isinstance(value, dt.datetime):
        # Timestamps are stored in UTC without a zone; people read Beijing time.
        local = value.replace(tzinfo=dt.UTC).astimezone(LOCAL_ZONE)
        return local.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def review_value(value: Any, field: Any) -> str:
    """Show a submitted value of a spec field: amounts, ranges, choices by their label."""
    if isinstance(value, dict):
        return f"{display(value.get('from'))} 至 {display(value.get('to'))}"
    if field.type == "checkbox":
        return "是" if value else "否"
    if field.type == "choice":
        for choice in field.choices:
            if choice.value == value:
                return choice.label
    kind = {"money": "money", "percent": "percent"}.get(field.type, "text")
    return display(value, kind)


def merge_args(args: dict[str, Any], **changes: Any) -> str:
    """Return a query string of `args` with `changes` applied, for paging and sorting links."""
    merged = {**args, **changes}
    return urlencode(
        {key: value for key, value in merged.items() if value not in (None, "")}
    )


def link_for(template: str, row: dict[str, Any]) -> str:
    """Fill `{name}` placeholders of a column's link with URL-quoted row values."""
    values = {key: quote(str(value), safe="") for key, value in row.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return "#"


def input_size(value: Any) -> int:
    """Return the `size` of a text input that shows `value` whole.

    `size` counts average character widths, so a wide (CJK) character counts twice.
    One more character leaves room for the caret and rounding.
    """
    text = "" if value is None else str(value)
    wide = sum(1 for char in text if unicodedata.east_asian_width(char) in "WF")
    return len(text) + wide + 1


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["display"] = display
    app.jinja_env.filters["merge_args"] = merge_args
    app.jinja_env.filters["review_value"] = review_value
    app.jinja_env.filters["link_for"] = link_for
    app.jinja_env.filters["input_size"] = input_size
    app.jinja_env.globals["line_chart"] = line_chart
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
