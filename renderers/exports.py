"""Exports of query results to CSV and Excel, with identifiers kept as text."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from engine.service import Column
from renderers.html import display

# A cell starting with one of these runs as a formula in a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?[0-9][0-9,]*(?:\.[0-9]+)?")


def _neutralise(text: str) -> str:
    """Prefix a quote to text a spreadsheet would run, leaving negative numbers alone.

    Only plain digits count as a number. Decimal also reads "-sNaN123", "-Infinity"
    and "-1_000", which a spreadsheet runs as formulas ("-sNaN123" refers to a cell).
    """
    if not text.startswith(FORMULA_STARTS):
        return text
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    return "'" + text


def _cell_text(column: Column, value: Any) -> str:
    return _neutralise(display(value, column.type))


def export_csv(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> bytes:
    """Write CSV with a UTF-8 byte-order mark, so Excel shows the Chinese text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.label for column in columns])
    for row in rows:
        writer.writerow([_cell_text(column, row.get(column.name)) for column in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_xlsx(title: str, columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> bytes:
    """Write an xlsx sheet; amounts are numbers, identifiers and codes are text cells."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append([column.label for column in columns])
    for row in rows:
        cells: list[Any] = []
        for column in columns:
            value = row.get(column.name)
            if column.type == "money" and value is not None:
                cells.append(Decimal(str(value)))
            else:
                cells.append(_cell_text(column, value))
        sheet.append(cells)
    for index, column in enumerate(columns, start=1):
        for cell in sheet.iter_cols(min_col=index, max_col=index, min_row=2):
            for item in cell:
                item.number_format = "#,##0.00" if column.type == "money" else "@"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
