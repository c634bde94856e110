"""Checking the `import` key of a row table: each finding with its code and path."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.service import build_service
from engine.spec_check import SpecError

CheckBody = Callable[..., list[SpecError]]

# A prefilled table after the 7-line header; its import starts on line 16.
TABLE = """\
rows:
  - name: staff
    label: S
    prefill: {operation: unit.employees, key: account}
    fields:
      - {name: account, type: text, label: 个人账号, read-only: true}
      - {name: name, type: text, label: 姓名, read-only: true}
      - {name: base, type: money, label: 新缴存基数}
"""
NO_PREFILL = TABLE.replace(
    "    prefill: {operation: unit.employees, key: account}\n", ""
)


def imports(text: str, table: str = TABLE) -> str:
    return (
        table
        + "    import:\n"
        + "".join(f"      {line}\n" for line in text.split("\n"))
    )


VALID = (
    "format: xlsx\nkey: account\ncolumns: [account, base]\nreference-columns: [name]"
)

CASES = [
    # A column that is no field of the table.
    pytest.param(
        imports("format: xlsx\nkey: account\ncolumns: [account, bas]"),
        "rows[0].import.columns[1]",
        "E411",
        "did you mean 'base'?",
        id="unknown-column",
    ),
    # A reference column that is no field of the table.
    pytest.param(
        imports(VALID.replace("[name]", "[nmae]")),
        "rows[0].import.reference-columns[0]",
        "E411",
        "'nmae' is not a field of the row table 'staff'",
        id="unknown-reference-column",
    ),
    # The key is not among the columns read.
    pytest.param(
        imports("format: xlsx\nkey: account\ncolumns: [name, base]"),
        "rows[0].import.key",
        "E412",
        "add account to columns",
        id="key-not-column",
    ),
    # A table without a prefill key has no records for the file's rows.
    pytest.param(
        imports("format: xlsx\nkey: account\ncolumns: [account, base]", NO_PREFILL),
        "rows[0].import",
        "E413",
        "has an import but no prefill key",
        id="import-without-key",
    ),
    # The import key must be the prefill key.
    pytest.param(
        imports("format: xlsx\nkey: name\ncolumns: [name, base]"),
        "rows[0].import.key",
        "E414",
        "differs from the prefill key 'account'",
        id="key-not-prefill-key",
    ),
    # A read-only field other than the key cannot be read from a file.
    pytest.param(
        imports("format: xlsx\nkey: account\ncolumns: [account, name, base]"),
        "rows[0].import.columns[1]",
        "E415",
        "move it to reference-columns",
        id="read-only-column",
    ),
    # A reference column must be read-only.
    pytest.param(
        imports(
            "format: xlsx\nkey: account\ncolumns: [account]\nreference-columns: [base]"
        ),
        "rows[0].import.reference-columns[0]",
        "E416",
        "list it under columns instead",
        id="reference-not-read-only",
    ),
    # The same field in both lists.
    pytest.param(
        imports(VALID.replace("[name]", "[name, account]")),
        "rows[0].import.reference-columns[1]",
        "E417",
        "listed in both columns and reference-columns",
        id="column-twice",
    ),
]


@pytest.mark.parametrize(("body", "path", "code", "phrase"), CASES)
def test_import_finding(
    check_body: CheckBody, body: str, path: str, code: str, phrase: str
) -> None:
    errors = check_body(body)
    matching = [error for error in errors if error.code == code]
    assert len(matching) == 1, errors
    assert matching[0].path == path
    assert phrase in matching[0].message


def test_valid_import_passes(check_body: CheckBody) -> None:
    assert check_body(imports(VALID)) == []


def test_import_format_only_xlsx(check_body: CheckBody) -> None:
    errors = check_body(imports(VALID.replace("xlsx", "csv")))
    assert [error.path for error in errors] == ["rows[0].import.format"]


def test_import_limits_default(
    check_spec: Callable[..., tuple], spec_header: str
) -> None:
    spec, errors = check_spec(spec_header + imports(VALID))
    assert errors == []
    table = build_service(spec).table("staff")
    assert table.row_import is not None
    assert table.row_import.max_rows == table.max_rows
    assert table.row_import.max_size_kb == 10240
    assert table.row_import.template_columns == ("account", "name", "base")
