"""Tests of reading spec YAML: positions, and each YAML surprise where it is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.spec_check import expected_types
from engine.spec_loader import SpecError, format_path, load_yaml, parse_yaml

CheckBody = Callable[..., list[SpecError]]

FIELD_A = """\
fields:
  - name: a
    type: choice
    label: A
    choices:
"""

# Each case: the body after the 7-line header, then the expected line, column, spec
# path and a phrase of the message. The body starts on line 8.
SURPRISES = [
    # Tags, even harmless ones, are rejected and named.
    pytest.param(
        'description: !!python/object/apply:os.system ["echo"]\n',
        8,
        14,
        "description",
        "tag !!python/object/apply:os.system is not allowed",
        id="python-object-tag",
    ),
    pytest.param(
        "description: !!binary aGVsbG8=\n",
        8,
        14,
        "description",
        "remove !!binary",
        id="binary-tag",
    ),
    pytest.param(
        "description: !custom hello\n",
        8,
        14,
        "description",
        "tag !custom is not allowed",
        id="custom-tag",
    ),
    pytest.param(
        "description: !!str 01\n",
        8,
        14,
        "description",
        "tag !!str is not allowed",
        id="str-tag",
    ),
    pytest.param(
        "agreement: !!map {title: a, text: b}\n",
        8,
        12,
        "agreement",
        "tag !!map is not allowed",
        id="tag-on-mapping",
    ),
    # The second of two equal keys is reported, with the line of the first.
    pytest.param(
        "description: a\ndescription: b\n",
        9,
        1,
        "description",
        "duplicate key 'description'; it is already given on line 8",
        id="duplicate-top-key",
    ),
    pytest.param(
        "agreement:\n  title: a\n  text: b\n  title: c\n",
        11,
        3,
        "agreement.title",
        "already given on line 9",
        id="duplicate-nested-key",
    ),
    # YAML 1.1 booleans where text is expected.
    pytest.param(
        "description: no\n",
        8,
        14,
        "description",
        "write 'no' in quotes if you mean the text",
        id="no-as-text",
    ),
    pytest.param(
        "description: Yes\n",
        8,
        14,
        "description",
        "read as the boolean true",
        id="capital-yes-as-text",
    ),
    pytest.param(
        "description: OFF\n",
        8,
        14,
        "description",
        "read as the boolean false; write 'OFF' in quotes",
        id="upper-off-as-text",
    ),
    pytest.param(
        "description: true\n",
        8,
        14,
        "description",
        "write 'true' in quotes",
        id="true-as-text",
    ),
    pytest.param(
        "description: n\n",
        8,
        14,
        "description",
        "boolean for YAML 1.1 tools other than PyYAML",
        id="one-letter-as-text",
    ),
    pytest.param(
        FIELD_A + "      - {value: on, label: On}\n",
        13,
        17,
        "fields[0].choices[0].value",
        "write 'on' in quotes",
        id="on-as-choice-value",
    ),
    pytest.param(
        "fields:\n  - {name: a, type: checkbox, label: A, default: yes}\n",
        9,
        50,
        "fields[0].default",
        "write true for the boolean, or 'yes' in quotes for the text",
        id="yes-where-text-or-boolean",
    ),
    pytest.param(
        "agreement:\n  title: a\n  text: b\n  off: c\n",
        11,
        3,
        "agreement.off",
        "as a key, off without quotes is read as the boolean",
        id="boolean-word-as-key",
    ),
    # Leading zeros, whatever YAML makes of them.
    pytest.param(
        FIELD_A + "      - {value: 01, label: One}\n",
        13,
        17,
        "fields[0].choices[0].value",
        "read as the number 1; write '01' in quotes if it is a code, or 1 if it is",
        id="leading-zero-code",
    ),
    pytest.param(
        FIELD_A + "      - {value: 0123, label: One}\n",
        13,
        17,
        "fields[0].choices[0].value",
        "read as the number 83",
        id="octal",
    ),
    pytest.param(
        FIELD_A + "      - {value: 08, label: Eight}\n",
        13,
        17,
        "fields[0].choices[0].value",
        "read as text, but similar values such as 07 are read as numbers",
        id="leading-zero-kept-as-text",
    ),
    pytest.param(
        "fields:\n  - {name: a, type: number, label: A, checks: {min: -007}}\n",
        9,
        53,
        "fields[0].checks.min",
        "write '-007' in quotes if it is a code, or -7",
        id="negative-leading-zero",
    ),
    # Under an unknown key the value is still reported, as well as the key.
    pytest.param(
        "menu2: 01\n",
        8,
        8,
        "menu2",
        "or 1 if it is a number",
        id="leading-zero-under-unknown-key",
    ),
    # Dates, timestamps and base-60 numbers where text is expected.
    pytest.param(
        "description: 2024-01-01\n",
        8,
        14,
        "description",
        "read as a date; write '2024-01-01' in quotes",
        id="date",
    ),
    pytest.param(
        "description: 2024-01-01 08:30:00\n",
        8,
        14,
        "description",
        "read as a timestamp",
        id="timestamp",
    ),
    pytest.param(
        "description: 10:30\n",
        8,
        14,
        "description",
        "read as the base-60 number 630; write '10:30' in quotes",
        id="base-60",
    ),
    # Anchors, aliases and merge keys.
    pytest.param(
        "description: &text hello\n",
        8,
        14,
        "description",
        "anchor &text is not supported in specs",
        id="anchor",
    ),
    pytest.param(
        "agreement: {title: *text, text: b}\n",
        8,
        20,
        "agreement.title",
        "alias *text is not supported in specs",
        id="alias-without-anchor",
    ),
    pytest.param(
        "agreement:\n  <<: {title: a}\n  text: b\n",
        9,
        3,
        "agreement.<<",
        "merge keys (<<) are not supported in specs",
        id="merge-key",
    ),
]


@pytest.mark.parametrize(("body", "line", "column", "path", "phrase"), SURPRISES)
def test_yaml_surprise_located(
    check_body: CheckBody, body: str, line: int, column: int, path: str, phrase: str
) -> None:
    errors = check_body(body)
    matching = [error for error in errors if phrase in error.message]
    assert len(matching) == 1, errors
    assert matching[0].line == line
    assert matching[0].column == column
    assert matching[0].path == path


@pytest.mark.parametrize(
    "body",
    [
        # A boolean place takes YAML 1.1's yes and no as PyYAML reads them.
        "fields:\n  - {name: a, type: text, label: A, required: yes}\n",
        "fields:\n  - {name: a, type: text, label: A, required: true}\n",
        # A place that takes text or a boolean takes true and false as booleans.
        "fields:\n  - {name: a, type: checkbox, label: A, default: false}\n",
        # Quoted forms are plain text.
        "description: 'no'\n",
        'description: "2024-01-01"\n',
        "description: '01'\n",
        # A number without a leading zero, and the zero itself.
        "fields:\n  - {name: a, type: number, label: A, checks: {min: 0, max: 0.5}}\n",
    ],
)
def test_plain_values_accepted(check_body: CheckBody, body: str) -> None:
    assert check_body(body) == []


def test_chart_key_y_accepted(check_spec: Callable[..., tuple]) -> None:
    # YAML 1.1 reads a plain y as true, but the meta-schema names the chart's axes x, y.
    text = """\
id: unit-x
version: 1
title: T
hall: unit
kind: query
menu: {group: g, order: 1}
result:
  operation: a.b
  chart: {x: month, y: amount, label: L}
"""
    data, errors = check_spec(text)
    assert errors == []
    assert data["result"]["chart"]["y"] == "amount"


def test_unknown_key_and_value_both_reported(check_body: CheckBody) -> None:
    errors = check_body("menu2: 01\n")
    assert [(e.line, e.column, e.path) for e in errors] == [
        (8, 1, "menu2"),
        (8, 8, "menu2"),
    ]
    assert "unknown key 'menu2'; did you mean 'menu'?" in errors[0].message
    assert "write '01' in quotes" in errors[1].message


@pytest.mark.parametrize(
    ("text", "line", "column", "phrase"),
    [
        # An unclosed flow list: the parser notices on the next line.
        ("id: unit-x\nfields: [a, b\ntitle: T\n", 3, 6, "invalid YAML: expected ','"),
        # A key indented under a scalar value.
        (
            "id: unit-x\ntitle: T\n  hall: unit\n",
            3,
            7,
            "mapping values are not allowed",
        ),
        # A tab where indentation is expected.
        ("id: unit-x\n\tfields: []\n", 2, 1, "found character '\\t'"),
        # Two documents in one file.
        ("id: unit-x\n---\nid: unit-y\n", 2, 1, "but found another document"),
    ],
)
def test_syntax_error_alone(
    check_spec: Callable[..., tuple], text: str, line: int, column: int, phrase: str
) -> None:
    data, errors = check_spec(text + "description: no\n")
    assert data is None
    assert len(errors) == 1
    assert (errors[0].line, errors[0].column) == (line, column)
    assert errors[0].path == "(file)"
    assert phrase in errors[0].message


def test_empty_file_reported(check_spec: Callable[..., tuple]) -> None:
    data, errors = check_spec("# nothing yet\n")
    assert data is None
    assert [(error.code, error.message) for error in errors] == [
        ("E002", "the file is empty; write the keys of a spec: id, title, hall, ...")
    ]


def test_null_document_reported(check_spec: Callable[..., tuple]) -> None:
    data, errors = check_spec("~\n")
    assert data is None
    assert [(e.line, e.column, e.path) for e in errors] == [(1, 1, "(file)")]
    assert errors[0].message == "the value is empty; write a mapping of keys to values"


def test_invalid_utf8_located(tmp_path: Path) -> None:
    path = tmp_path / "unit-x.yaml"
    path.write_bytes(b"id: unit-x\ntitle: \xff\n")
    loaded = load_yaml(path, file="unit-x.yaml")
    assert loaded.syntax_error
    assert [(e.line, e.column) for e in loaded.errors] == [(2, 8)]
    assert "not valid UTF-8" in loaded.errors[0].message


def test_positions_of_values_and_keys() -> None:
    text = "id: unit-x\nfields:\n  - name: a\n    label: 甲\n"
    loaded = parse_yaml(text, file="f.yaml")
    assert loaded.errors == []
    assert loaded.data == {"id": "unit-x", "fields": [{"name": "a", "label": "甲"}]}
    assert loaded.marks[("fields",)] == (3, 3)
    assert loaded.marks[("fields", 0, "label")] == (4, 12)
    assert loaded.key_marks[("fields", 0, "label")] == (4, 5)
    # A path without a mark of its own falls back to its nearest parent.
    assert loaded.position(("fields", 0, "type")) == (3, 5)


def test_scalars_resolved_as_yaml() -> None:
    text = "a: 3\nb: 2.5\nc: true\nd: ~\ne:\nf: text\ng: '3'\n"
    loaded = parse_yaml(text, file="f.yaml")
    assert loaded.data == {
        "a": 3,
        "b": 2.5,
        "c": True,
        "d": None,
        "e": None,
        "f": "text",
        "g": "3",
    }
    assert isinstance(loaded.data["c"], bool)


def test_alias_never_expanded() -> None:
    # Each level would multiply the size tenfold if aliases were expanded.
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for index in range(1, 9):
        previous = chr(ord("a") + index - 1)
        name = chr(ord("a") + index)
        levels.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    loaded = parse_yaml("\n".join(levels) + "\n", file="f.yaml")
    assert loaded.data["i"] == [None] * 10
    assert len(loaded.errors) == 9 + 8 * 10


def test_no_object_constructed() -> None:
    text = "a: !!python/object/new:os.system [echo unsafe]\n"
    loaded = parse_yaml(text, file="f.yaml")
    assert loaded.data == {"a": ["echo unsafe"]}
    assert len(loaded.errors) == 1


def test_expected_types_of_paths() -> None:
    assert expected_types(("title",)) == {"string"}
    assert expected_types(("fields", 3, "required")) == {"boolean"}
    assert expected_types(("fields", 0, "default")) == {"string", "number", "boolean"}
    assert expected_types(("calculations", 0, "places")) == {"integer", "string"}
    assert expected_types(("lookups", 0, "fill", "anything")) == {"string"}
    assert expected_types(("no-such-key",)) is None


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), "(file)"),
        (("id",), "id"),
        (("fields", 2, "type"), "fields[2].type"),
        (("rows", 0, "fields", 1, "read-only"), "rows[0].fields[1].read-only"),
    ],
)
def test_format_path(path: tuple, text: str) -> None:
    assert format_path(path) == text
