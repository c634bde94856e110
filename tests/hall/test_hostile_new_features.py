"""Hostile input to the newest features: the row table's xlsx import."""

from __future__ import annotations

import io
import re
import zipfile

from openpyxl import Workbook

from engine.row_import import _first_sheet

# The widest column an xlsx sheet may name.
LAST_COLUMN = 16384


def claimed_dimension(rows: int, ref: bytes) -> bytes:
    """Return an xlsx file of `rows` two-cell rows whose sheet claims `ref` as its range."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["个人账号", "新缴存基数"])
    for number in range(rows):
        sheet.append([f"{number:012d}", "8000"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*" ?/>', ref, data)
            archive.writestr(item, data)
    return output.getvalue()


def test_claimed_sheet_range_not_padded() -> None:
    content = claimed_dimension(3, b'<dimension ref="A1:XFD1048576"/>')
    sheet = _first_sheet(content, "base.xlsx")
    rows = list(sheet.iter_rows(values_only=True))
    # A range the file only claims must not widen each row to 16384 cells, nor add
    # a million empty rows below the data.
    assert len(rows) == 4
    assert max(len(row) for row in rows) == 2
