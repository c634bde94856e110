"""Hostile input to the newest features: the row table's xlsx import."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from support import login_unit
from test_unit_base_change_import import (
    employees,
    import_errors,
    upload,
    workbook_bytes,
)

from engine.row_import import _first_sheet


def with_sheet_xml(content: bytes, change: tuple[bytes, bytes]) -> bytes:
    """Return the xlsx file with one replacement made in its first sheet's XML."""
    source = zipfile.ZipFile(io.BytesIO(content))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert change[0] in data
                data = data.replace(change[0], change[1], 1)
            archive.writestr(item, data)
    return output.getvalue()


def claimed_dimension(rows: int, ref: bytes) -> bytes:
    """Return an xlsx file of two-cell rows whose sheet claims the range `ref`."""
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


@pytest.mark.parametrize(
    "change",
    [
        # XML that breaks after the first data row.
        (b"</row><row", b"</row><row><"),
        # A number cell whose value is no number.
        (b"<v>8000</v>", b"<v>eight</v>"),
    ],
    ids=["broken-xml", "bad-number"],
)
def test_sheet_damaged_past_header_rejected(
    client: FlaskClient, app: Flask, change: tuple[bytes, bytes]
) -> None:
    login_unit(client, app)
    account = employees(app)[0]["person_account"]
    rows = [[account, None, None, None, 8000], [account, None, None, None, 8000]]
    content = with_sheet_xml(workbook_bytes(rows), change)
    response = upload(client, content)
    assert response.status_code == 400
    assert any("不是有效的 Excel" in text for text in import_errors(response))
