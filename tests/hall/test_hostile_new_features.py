"""Hostile input to the newest features: the row table's xlsx import."""

from __future__ import annotations

import io
import re
import struct
import zipfile
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from support import login_unit
from test_unit_base_change_import import (
    employees,
    import_errors,
    upload,
    workbook_bytes,
)
from werkzeug.datastructures import FileStorage

from engine import row_import
from engine.row_import import _first_sheet
from engine.service import RowTable

SHEET_PART = "xl/worksheets/sheet1.xml"
MIB = 1024 * 1024


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


def base_change_table(app: Flask) -> RowTable:
    return app.extensions["hall"].services["unit-base-change"].table("employees")


def padded_sheet(content: bytes, padding: int) -> bytes:
    """Return the xlsx file with `padding` spaces before the end of its first sheet.

    The spaces are valid XML and compress about a thousandfold, like a zip bomb.
    """
    source = zipfile.ZipFile(io.BytesIO(content))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename != SHEET_PART:
                archive.writestr(item, data)
                continue
            end = data.rindex(b"</worksheet>")
            with archive.open(item, "w", force_zip64=True) as part:
                part.write(data[:end])
                for start in range(0, padding, MIB):
                    part.write(b" " * min(MIB, padding - start))
                part.write(data[end:])
    return output.getvalue()


def declare_size(content: bytes, part: str, size: int) -> bytes:
    """Return the zip with the uncompressed size of `part` rewritten in its headers."""
    data = bytearray(content)
    item = zipfile.ZipFile(io.BytesIO(content)).getinfo(part)
    # A local file header stores the uncompressed size at offset 22.
    struct.pack_into("<I", data, item.header_offset + 22, size)
    name = part.encode()
    # A central directory entry stores it at offset 24, and the name at offset 46.
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(name)] != name:
        entry = data.index(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", data, entry + 24, size)
    return bytes(data)


def with_method(content: bytes, part: str, method: int) -> bytes:
    """Return the xlsx file with `part` compressed by `method`."""
    source = zipfile.ZipFile(io.BytesIO(content))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == part:
                item.compress_type = method
            archive.writestr(item, data)
    return output.getvalue()


@pytest.fixture
def parser_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every call of openpyxl's reader by the import, and fail each one."""
    calls: list[Any] = []

    def reject_call(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        raise AssertionError("the file reached the parser")

    monkeypatch.setattr(row_import, "load_workbook", reject_call)
    return calls


def test_unpacked_limit_follows_rows(app: Flask) -> None:
    spec = base_change_table(app).row_import
    assert spec is not None
    # 30,000 rows of 5 template columns at 200 bytes a cell, plus 8 MiB.
    assert len(spec.template_columns) == 5
    assert row_import.max_unpacked_bytes(spec) == 30_000 * 5 * 200 + 8 * MIB
    fewer = row_import.max_unpacked_bytes(replace(spec, max_rows=100))
    assert fewer == 100 * 5 * 200 + 8 * MIB
    largest = replace(spec, max_rows=50_000, columns=spec.columns + ("x",) * 20)
    ceiling = row_import.MAX_UNPACKED_BYTES
    assert row_import.max_unpacked_bytes(largest) == ceiling


def test_padded_sheet_rejected_before_parsing(
    client: FlaskClient, app: Flask, parser_calls: list[Any]
) -> None:
    login_unit(client, app)
    spec = base_change_table(app).row_import
    assert spec is not None
    limit = row_import.max_unpacked_bytes(spec)
    account = employees(app)[0]["person_account"]
    content = padded_sheet(
        workbook_bytes([[account, None, None, None, 8000]]), limit + MIB
    )
    # Far below the upload's size limit, so only the unpacked size can stop it.
    assert len(content) < limit // 200
    assert len(content) < spec.max_size_kb * 1024
    response = upload(client, content)
    assert response.status_code == 400
    assert import_errors(response) == [
        (
            "文件“基数.xlsx”解压后超过 37 MB 的上限，"
            "请只保留模板中的一个工作表，删除多余的行和格式后重新导入"
        )
    ]
    assert parser_calls == []


def test_understated_part_size_rejected(
    client: FlaskClient, app: Flask, parser_calls: list[Any]
) -> None:
    login_unit(client, app)
    spec = base_change_table(app).row_import
    assert spec is not None
    limit = row_import.max_unpacked_bytes(spec)
    account = employees(app)[0]["person_account"]
    plain = workbook_bytes([[account, None, None, None, 8000]])
    declared = zipfile.ZipFile(io.BytesIO(plain)).getinfo(SHEET_PART).file_size
    padded = padded_sheet(plain, limit + MIB)
    # The headers claim the sheet's size without the padding.
    content = declare_size(padded, SHEET_PART, declared)
    sizes = zipfile.ZipFile(io.BytesIO(content)).infolist()
    assert sum(item.file_size for item in sizes) < limit
    response = upload(client, content)
    assert response.status_code == 400
    assert any("不是有效的 Excel" in text for text in import_errors(response))
    assert parser_calls == []


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"]
)
def test_unbounded_compression_rejected(
    client: FlaskClient, app: Flask, parser_calls: list[Any], method: int
) -> None:
    login_unit(client, app)
    account = employees(app)[0]["person_account"]
    plain = workbook_bytes([[account, None, None, None, 8000]])
    response = upload(client, with_method(plain, SHEET_PART, method))
    assert response.status_code == 400
    assert any("不是有效的 Excel" in text for text in import_errors(response))
    assert parser_calls == []


def filled_template(table: RowTable, rows: int) -> bytes:
    """Write the template of `rows` employees and fill a new base on every row."""
    records = [
        {
            "person_account": f"0201{number:08d}",
            "name": "职工" + "甲乙丙丁戊己庚辛"[number % 8] * (1 + number % 3),
            "id_number_masked": f"440203********{number % 10000:04d}",
            "base": Decimal(3000 + number % 700 * 10),
        }
        for number in range(rows)
    ]
    template = row_import.template_xlsx(table, records, table.label)
    source = load_workbook(io.BytesIO(template), read_only=True).worksheets[0]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(table.label)
    for number, values in enumerate(source.iter_rows(values_only=True)):
        row = list(values)
        if number > 0:
            row[-1] = float(Decimal(str(row[3])) + 500)
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_full_template_within_limit(app: Flask) -> None:
    table = base_change_table(app)
    spec = table.row_import
    assert spec is not None
    content = filled_template(table, spec.max_rows)
    parts = zipfile.ZipFile(io.BytesIO(content)).infolist()
    unpacked = sum(item.file_size for item in parts)
    # The limit is more than four times the unpacked size of a full file.
    assert unpacked * 4 < row_import.max_unpacked_bytes(spec)
    upload_file = FileStorage(io.BytesIO(content), filename="基数.xlsx")
    rows = list(row_import.read_upload(table, upload_file))
    assert len(rows) == spec.max_rows
    assert rows[-1].cells["base"] is not None
