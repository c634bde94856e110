"""Import of a row table's changed rows from an xlsx file, and its download template.

A file is read in one pass and checked row by row with the table's own field
checks. Every problem is collected with its sheet row number, and a file with any
problem changes nothing. The rows a valid file changes are kept in the draft, so
that a page turn, a failed submission and the review page all keep them without
posting them again.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from werkzeug.datastructures import FileStorage

from engine.attachments import AttachmentInvalid, check_upload, display_name
from engine.fields import BoundResolver, format_input, is_empty
from engine.forms import FormState, Row
from engine.schemas import ValidationScope, build_row_schema, validation_scope
from engine.service import AttachmentKind, Field, RowImport, RowTable, Service
from engine.storage.models import Application

log = logging.getLogger(__name__)

# Key of `Application.form_values` that keeps the imported rows of each table.
IMPORTED = "_imported"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Errors listed on the page; the total count is always shown.
SHOWN_ERRORS = 100
# A file whose parts claim to unpack to more than the table's limit is rejected
# before it is parsed, so a small compressed upload cannot expand into gigabytes of
# XML. The limit is this much XML per cell of the template's columns for each of the
# import's max rows, plus UNPACKED_ALLOWANCE_BYTES. The template route's file of
# 30,000 rows and 5 columns, filled with new bases by openpyxl 3.1.5, unpacks to
# 8,231,934 bytes, about 55 bytes a cell. LibreOffice Calc 7.4 adds a style to each
# cell and a shared strings part: its files of 300 to 30,000 such rows unpack to 86 to
# 100 bytes a cell (benchmarks/libreoffice_import_size.py, docs/benchmarks.md).
# NOTE: files saved by Excel or WPS were not measured. 200 bytes a cell is an estimate
# that leaves them twice the room Calc needs.
UNPACKED_BYTES_PER_CELL = 200
# Room for the parts that do not grow with the rows, such as styles, the theme and
# formatted blank rows below the data.
UNPACKED_ALLOWANCE_BYTES = 8 * 1024 * 1024
# The limit of any table, however many rows and columns its import declares.
MAX_UNPACKED_BYTES = 128 * 1024 * 1024
# Compression methods accepted in a file: those of the files openpyxl writes. The
# zipfile module of CPython 3.11 cuts each part's output at its declared size, but
# it inflates a bzip2 or LZMA part a whole read at a time before cutting, so the
# output of those methods has no bound.
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# Spreadsheets often format thousands of empty rows below the data. The data is taken
# to end at the first run of this many blank rows, so such a sheet is not read whole.
MAX_BLANK_RUN = 1000
# Field types whose cells are numbers in the template and may be numbers in a file.
NUMERIC_TYPES = {"money", "number", "percent"}
SHEET_ROW_OF_HEADER = 1


class ImportRejected(ValueError):
    """Error for an upload that is no readable xlsx file, with the reason in Chinese."""


@dataclass
class ImportOutcome:
    """Result of reading one file: the rows it changes, or every problem found."""

    rows_read: int = 0
    changed: list[dict[str, str]] = field(default_factory=list)
    # (sheet row number, message) of each problem; row 0 for the file as a whole.
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Return the messages of all problems, in the order of the sheet's rows."""
        return [text for _, text in sorted(self.problems, key=lambda item: item[0])]

    @property
    def shown_errors(self) -> list[str]:
        return self.errors[:SHOWN_ERRORS]


@dataclass
class ImportSummary:
    """Page summary of a table's import, shown in place of thousands of inputs."""

    table: RowTable
    file_name: str
    rows_read: int
    rows_changed: int
    # Each calculated amount of the rows with its total over the changed rows.
    totals: list[tuple[Field, Decimal]]
    first_rows: list[Row]


@dataclass
class _SheetRow:
    number: int
    cells: dict[str, Any]


# The template ----------------------------------------------------------------------


def template_xlsx(
    table: RowTable, records: Iterable[Mapping[str, Any]], sheet_title: str
) -> bytes:
    """Write the template: one row per record, the imported columns left empty.

    Identifiers are text cells formatted as text, so Excel keeps leading zeros and
    all 18 digits of an ID number. Amounts are number cells.
    """
    spec = _spec_of(table)
    fields = [table.field(name) for name in spec.template_columns]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title[:31])
    sheet.append([_text_cell(sheet, item.label) for item in fields])
    empty = set(spec.columns) - {spec.key}
    for record in records:
        cells = []
        for item in fields:
            value = None if item.name in empty else _record_value(table, record, item)
            cells.append(_template_cell(sheet, item, value))
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _record_value(table: RowTable, record: Mapping[str, Any], item: Field) -> Any:
    return record.get(table.prefill_fill.get(item.name, item.name))


def _template_cell(sheet: Any, item: Field, value: Any) -> WriteOnlyCell:
    if item.type in NUMERIC_TYPES:
        cell = WriteOnlyCell(
            sheet, value=Decimal(str(value)) if value is not None else None
        )
        cell.number_format = "0.00" if item.type == "money" else "General"
        return cell
    return _text_cell(sheet, format_input(item, value))


def _text_cell(sheet: Any, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=text or None)
    # A string cell stays a string even when it starts with "=", so a name cannot
    # become a formula.
    if text:
        cell.data_type = "s"
    cell.number_format = "@"
    return cell


# Reading a file --------------------------------------------------------------------


def read_upload(table: RowTable, upload: FileStorage) -> Iterator[_SheetRow]:
    """Check the upload as an attachment, open its first sheet and yield its rows.

    Raises ImportRejected for a file that is too large, is no xlsx by its content
    or that openpyxl cannot read, and for a header that does not fit the table.
    """
    spec = _spec_of(table)
    kind = AttachmentKind(
        kind=table.name,
        label=f"{table.label}导入文件",
        types=("xlsx",),
        max_size_kb=spec.max_size_kb,
        max_count=1,
    )
    try:
        content = check_upload(kind, upload, 0)
    except AttachmentInvalid as error:
        raise ImportRejected(str(error)) from None
    finally:
        upload.close()
    name = display_name(upload.filename)
    sheet = _first_sheet(content, name, max_unpacked_bytes(spec))
    rows = _sheet_rows(sheet, name)
    header = next(rows, None)
    columns = _columns_of(table, header or ())
    for number, values in enumerate(rows, start=SHEET_ROW_OF_HEADER + 1):
        cells = {
            name: values[position] if position < len(values) else None
            for position, name in columns.items()
        }
        yield _SheetRow(number, cells)


def _unreadable(name: str) -> str:
    return f"文件“{name}”不是有效的 Excel（xlsx）文件，请用模板填写后另存为 xlsx 格式"


def _sheet_rows(sheet: Any, name: str) -> Iterator[tuple[Any, ...]]:
    """Yield the sheet's rows, raising ImportRejected where its XML cannot be read.

    openpyxl parses a read-only sheet only while its rows are read, so a damaged
    sheet fails here rather than when the file is opened.
    """
    rows = sheet.iter_rows(values_only=True)
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception as error:  # the XML parser and openpyxl raise many types
            log.warning("import file rejected while reading: %s", type(error).__name__)
            raise ImportRejected(_unreadable(name)) from None
        yield values


def max_unpacked_bytes(spec: RowImport) -> int:
    """Return the maximum unpacked size in bytes of a file for this import."""
    per_row = UNPACKED_BYTES_PER_CELL * len(spec.template_columns)
    limit = per_row * spec.max_rows + UNPACKED_ALLOWANCE_BYTES
    return min(limit, MAX_UNPACKED_BYTES)


def _first_sheet(content: bytes, name: str, limit: int = MAX_UNPACKED_BYTES) -> Any:
    """Check the archive against `limit` unpacked bytes, then open its first sheet."""
    _check_archive(content, name, limit)
    unreadable = _unreadable(name)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception as error:  # openpyxl raises many exception types on a damaged file
        log.warning("import file rejected: %s", type(error).__name__)
        raise ImportRejected(unreadable) from None
    # A sheet's stored range is only a claim of the file. With it, openpyxl pads every
    # row, even an empty one, to the claimed width, so a range up to column XFD makes
    # each row cost 16384 cells. Without it, a row is as wide as its last cell.
    sheet.reset_dimensions()
    return sheet


def _check_archive(content: bytes, name: str, limit: int) -> None:
    """Raise ImportRejected for an archive over `limit` or with a damaged part.

    The limit applies to the sizes the archive declares. zipfile never returns more
    than a part's declared size, so that sum also bounds what openpyxl reads. A part
    whose data inflates further is cut short, and it fails its CRC-32 check here,
    before openpyxl parses any part, unless the file gives the CRC of the cut data.
    """
    unreadable = _unreadable(name)
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise ImportRejected(unreadable) from None
    with archive:
        parts = archive.infolist()
        methods = {item.compress_type for item in parts}
        if not methods <= set(ZIP_METHODS):
            log.warning("import file rejected: compression %s", sorted(methods))
            raise ImportRejected(unreadable)
        unpacked = sum(item.file_size for item in parts)
        if unpacked > limit:
            log.warning("import file rejected: unpacks to %d bytes", unpacked)
            raise ImportRejected(_too_large(name, limit))
        try:
            damaged = archive.testzip()
        except (zlib.error, EOFError, RuntimeError, ValueError) as error:
            # zlib.error is damaged deflate data, EOFError a part cut short, and
            # RuntimeError an encrypted part.
            log.warning("import file rejected: %s", type(error).__name__)
            raise ImportRejected(unreadable) from None
    if damaged is not None:
        log.warning("import file rejected: part %r fails its check", damaged)
        raise ImportRejected(unreadable)


def _too_large(name: str, limit: int) -> str:
    megabytes = math.ceil(limit / (1024 * 1024))
    return (
        f"文件“{name}”解压后超过 {megabytes} MB 的上限，"
        "请只保留模板中的一个工作表，删除多余的行和格式后重新导入"
    )


def _columns_of(table: RowTable, header: tuple[Any, ...]) -> dict[int, str]:
    """Map each header position to its row field, raising on missing or extra ones."""
    spec = _spec_of(table)
    by_label = {table.field(name).label: name for name in spec.template_columns}
    columns: dict[int, str] = {}
    problems = []
    for position, value in enumerate(header):
        label = "" if value is None else str(value).strip()
        if not label:
            continue
        name = by_label.get(label)
        if name is None:
            problems.append(
                f"表头第 {position + 1} 列「{label}」不是模板中的列，请删除该列"
            )
        elif name in columns.values():
            problems.append(f"表头中「{label}」列出现了两次，请只保留一列")
        else:
            columns[position] = name
    if not header or not columns and not problems:
        raise ImportRejected("文件的第一个工作表是空的，请用下载的模板填写")
    for name in spec.columns:
        if name not in columns.values():
            label = table.field(name).label
            problems.append(f"表头缺少「{label}」列，请使用下载的模板")
    if problems:
        raise ImportRejected("；".join(problems))
    return {
        position: name for position, name in columns.items() if name in spec.columns
    }


# Checking the rows -------------------------------------------------------------------


def check_rows(
    service: Service,
    table: RowTable,
    rows: Iterable[_SheetRow],
    records: list[Mapping[str, Any]],
    bound: BoundResolver,
) -> ImportOutcome:
    """Check every row of a file against the table's records and field checks.

    A row whose imported columns are empty, or equal to the record's values, changes
    nothing and is not kept. The outcome lists the problems of every row at once.
    """
    spec = _spec_of(table)
    originals = {
        str(_record_value(table, record, table.field(spec.key))): record
        for record in records
    }
    outcome = ImportOutcome()
    first_row_of: dict[str, int] = {}
    candidates: list[tuple[int, dict[str, str]]] = []
    blank_run = 0
    for sheet_row in rows:
        texts, problems = _row_texts(table, sheet_row)
        if all(is_empty(text) for text in texts.values()) and not problems:
            blank_run += 1
            if blank_run >= MAX_BLANK_RUN:
                break
            continue
        blank_run = 0
        outcome.rows_read += 1
        if outcome.rows_read > spec.max_rows:
            limit = f"文件的数据行超过 {spec.max_rows} 行的上限，请分成多个文件分别导入"
            outcome.problems = [(0, limit)]
            return outcome
        key = texts[spec.key]
        values = [texts[name] for name in spec.columns if name != spec.key]
        if all(is_empty(text) for text in values) and not problems:
            # A template row left as it was changes nothing, even when its record
            # has gone since the template was downloaded.
            continue
        key_problems = _key_problems(
            table, sheet_row.number, key, originals, first_row_of
        )
        first_row_of.setdefault(key, sheet_row.number)
        for text in problems + key_problems:
            outcome.problems.append((sheet_row.number, text))
        if not problems and not key_problems:
            candidates.append((sheet_row.number, texts))
    if outcome.rows_read == 0:
        outcome.problems.append((0, "文件中没有数据行，请在表头下方逐行填写"))
    _check_values(service, table, candidates, originals, bound, outcome)
    if outcome.problems:
        outcome.changed = []
    return outcome


def _row_texts(
    table: RowTable, sheet_row: _SheetRow
) -> tuple[dict[str, str], list[str]]:
    """Turn a row's cells into the texts a form would post, with cell-type problems."""
    texts: dict[str, str] = {}
    problems = []
    for name, value in sheet_row.cells.items():
        item = table.field(name)
        try:
            texts[name] = _cell_text(item, value)
        except ValueError as error:
            problems.append(_row_message(sheet_row.number, item, str(error)))
            texts[name] = ""
    return texts, problems


def _cell_text(item: Field, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError(f"{item.label}不能是逻辑值 TRUE/FALSE")
    if isinstance(value, (int, float, Decimal)):
        if item.type not in NUMERIC_TYPES:
            raise ValueError(
                f"{item.label}应为文本单元格（数字单元格会丢掉开头的 0 "
                "和长号码的末几位），"
                "请把该列设为文本后重新填写"
            )
        return _number_text(value)
    if isinstance(value, dt.datetime | dt.date):
        if item.type == "month":
            return f"{value:%Y-%m}"
        if item.type == "date":
            return f"{value:%Y-%m-%d}"
        raise ValueError(f"{item.label}不应为日期")
    return str(value).strip()


def _number_text(value: int | float | Decimal) -> str:
    # str() of a float is the shortest text that reads back as the same float, so a
    # cell typed as 8000.1 gives "8000.1".
    text = str(value)
    if isinstance(value, float) and text.endswith(".0"):
        text = text[:-2]
    return text


def _key_problems(
    table: RowTable,
    number: int,
    key: str,
    originals: Mapping[str, Any],
    first_row_of: Mapping[str, int],
) -> list[str]:
    item = table.field(_spec_of(table).key)
    if not key:
        return [_row_message(number, item, f"请填写{item.label}")]
    if key in first_row_of:
        earlier = first_row_of[key]
        return [_row_message(number, item, f"{item.label} {key} 与第 {earlier} 行重复")]
    if key not in originals:
        # One message for a record of someone else and a record that does not exist.
        return [_row_message(number, item, f"{table.label}中没有{item.label} {key}")]
    return []


def _check_values(
    service: Service,
    table: RowTable,
    candidates: list[tuple[int, dict[str, str]]],
    originals: Mapping[str, Mapping[str, Any]],
    bound: BoundResolver,
    outcome: ImportOutcome,
) -> None:
    """Load the candidate rows with the row schema and keep those that change."""
    spec = _spec_of(table)
    editable = [
        item for item in table.fields if not item.read_only and item.type != "file"
    ]
    payload = []
    for _, texts in candidates:
        record = originals[texts[spec.key]]
        payload.append(
            {
                item.name: texts[item.name]
                if item.name in texts and not is_empty(texts[item.name])
                else format_input(item, _record_value(table, record, item))
                for item in editable
            }
        )
    schema = build_row_schema(service, table)(many=True)
    with validation_scope(ValidationScope(bound)):
        try:
            loaded = schema.load(payload)
        except ValidationError as error:
            _record_problems(table, candidates, error.normalized_messages(), outcome)
            return
    for (_, texts), values in zip(candidates, loaded, strict=True):
        record = originals[texts[spec.key]]
        if _changes_record(table, values, record):
            outcome.changed.append(
                {
                    name: texts[name]
                    for name in spec.columns
                    if not is_empty(texts[name])
                }
            )


def _record_problems(
    table: RowTable,
    candidates: list[tuple[int, dict[str, str]]],
    problems: Mapping[Any, Any],
    outcome: ImportOutcome,
) -> None:
    for position, row_problems in problems.items():
        if not isinstance(row_problems, Mapping):
            continue
        number = candidates[int(position)][0]
        for name, messages in row_problems.items():
            text = messages[0] if isinstance(messages, list) else str(messages)
            message = _row_message(number, table.field(name), text)
            outcome.problems.append((number, message))


def _changes_record(
    table: RowTable, values: Mapping[str, Any], record: Mapping[str, Any]
) -> bool:
    spec = _spec_of(table)
    for name in spec.columns:
        if name == spec.key or name not in values:
            continue
        if values[name] != _record_value(table, record, table.field(name)):
            return True
    return False


def _row_message(number: int, item: Field, text: str) -> str:
    return f"第 {number} 行「{item.label}」：{text}"


# Keeping the rows in the draft -----------------------------------------------------


def store(
    draft: Application, table: RowTable, outcome: ImportOutcome, file_name: str
) -> None:
    """Keep a valid file's changed rows in the draft, replacing an earlier import."""
    stored_imports = dict(draft.form_values.get(IMPORTED) or {})
    stored_imports[table.name] = {
        "file": file_name,
        "read": outcome.rows_read,
        "rows": outcome.changed,
    }
    # A new dict, because SQLAlchemy detects a change of a JSON column by assignment.
    draft.form_values = {**draft.form_values, IMPORTED: stored_imports}


def discard(draft: Application, table: RowTable) -> None:
    stored_imports = dict(draft.form_values.get(IMPORTED) or {})
    stored_imports.pop(table.name, None)
    draft.form_values = {**draft.form_values, IMPORTED: stored_imports}


def imported_rows(draft: Application | None) -> dict[str, list[dict[str, Any]]]:
    """Return the rows imported into a draft, per table, as a form posts them."""
    if draft is None:
        return {}
    stored_imports = draft.form_values.get(IMPORTED) or {}
    return {name: list(entry.get("rows", [])) for name, entry in stored_imports.items()}


def kept_imports(draft: Application | None) -> dict[str, Any]:
    """Return the part of the draft's form values that an import added."""
    if draft is None or IMPORTED not in draft.form_values:
        return {}
    return {IMPORTED: draft.form_values[IMPORTED]}


def summaries(
    service: Service, state: FormState, draft: Application | None
) -> dict[str, ImportSummary]:
    """Summarise each table's import for the page: counts, totals, first rows."""
    stored_imports = {}
    if draft is not None:
        stored_imports = draft.form_values.get(IMPORTED) or {}
    found = {}
    for table in service.rows:
        entry = stored_imports.get(table.name)
        if table.row_import is None or not entry:
            continue
        key = table.row_import.key
        keys = {row[key] for row in entry.get("rows", [])}
        changed = [
            row
            for row in state.rows.get(table.name, [])
            if str(row.values.get(key)) in keys
        ]
        found[table.name] = ImportSummary(
            table=table,
            file_name=str(entry.get("file", "")),
            rows_read=int(entry.get("read", 0)),
            rows_changed=len(keys),
            totals=_totals(table, changed),
            first_rows=changed[: table.page_size or len(changed)],
        )
    return found


def _totals(table: RowTable, rows: list[Row]) -> list[tuple[Field, Decimal]]:
    targets = [table.field(item.target) for item in table.calculations]
    totals = []
    for item in targets:
        if item.type != "money":
            continue
        values = (row.values.get(item.name) or Decimal(0) for row in rows)
        totals.append((item, sum(values, Decimal(0))))
    return totals


def _spec_of(table: RowTable) -> RowImport:
    if table.row_import is None:
        raise LookupError(f"the row table {table.name!r} has no import")
    return table.row_import
