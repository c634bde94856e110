"""Tests of checking specs: schema errors in words, semantic rules, many files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.spec_check import (
    SpecCheckFailed,
    SpecError,
    check_file,
    load_specs,
    spec_paths,
)

CheckBody = Callable[..., list[SpecError]]
CheckSpec = Callable[..., tuple]

# A full apply service: rows, lookups with and without a trigger, calculations over
# rows and policy figures, visible-when, attachments, agreement, verification, steps.
VALID_SPEC = """\
id: unit-base-adjust
version: 2
title: 缴存基数调整
hall: unit
kind: apply
menu:
  group: 缴存业务
  order: 3
description: 单位为职工调整缴存基数。
fields:
  - name: unit_code
    type: text
    label: 单位账号
    required: true
    checks:
      pattern: "^[0-9]{12}$"
  - name: unit_name
    type: text
    label: 单位名称
    read-only: true
  - name: adjust_month
    type: month
    label: 调整月份
    required: true
    default-expression: this_month()
  - name: reason
    type: choice
    label: 调整原因
    choices:
      - {value: "01", label: 年度调整}
      - {value: "02", label: 其他}
  - name: reason_text
    type: textarea
    label: 其他原因说明
    visible-when: "reason == '02'"
  - name: bank
    type: choice
    label: 开户银行
    choices-lookup: bank.list
  - name: ratio
    type: percent
    label: 缴存比例
    default: 12
    checks:
      min: policy.unit_ratio_min
      max: policy.unit_ratio_max
  - name: total_base
    type: money
    label: 基数合计
    read-only: true
  - name: total_deposit
    type: money
    label: 月缴存额合计
    read-only: true
rows:
  - name: staff
    label: 职工
    min-rows: 1
    max-rows: 500
    fields:
      - {name: id_number, type: id-number, label: 身份证号, required: true}
      - {name: person_name, type: text, label: 姓名, read-only: true}
      - name: base
        type: money
        label: 缴存基数
        required: true
        checks: {min: policy.base_floor, max: policy.base_cap, places: 2}
      - {name: deposit, type: money, label: 月缴存额, read-only: true}
    lookups:
      - name: staff_person
        trigger: id_number
        operation: person.lookup
        params: {id_number: id_number}
        fill: {person_name: name}
    calculations:
      - target: deposit
        expression: "round_half_up(base * ratio / 100, 0) * 2"
        places: policy.deposit_places
lookups:
  - name: current_unit
    operation: unit.current
    fill: {unit_code: code, unit_name: name}
  - name: unit_by_code
    trigger: unit_code
    operation: unit.lookup
    params: {code: unit_code}
    fill: {unit_name: name}
calculations:
  - target: total_base
    expression: sum(staff.base)
    places: 2
  - target: total_deposit
    expression: "min(sum(staff.deposit), policy.base_cap * count(staff.base))"
attachments:
  - kind: approval
    label: 调整审批表
    required: true
    types: [pdf, jpeg]
    max-size-kb: 5120
    max-count: 3
agreement:
  title: 承诺书
  text: 本单位承诺所填信息真实。
  accept-label: 我已阅读并同意
verification:
  method: sms
steps:
  - {name: basics, title: 基本信息, fields: [unit_code, unit_name, adjust_month]}
  - {name: people, title: 职工明细, fields: [staff, total_base, total_deposit]}
submit:
  operation: deposit.base_change
  success-message: 已提交
"""

VALID_OPERATIONS = {
    "bank.list",
    "deposit.base_change",
    "person.lookup",
    "unit.current",
    "unit.lookup",
}


def test_full_spec_valid(check_spec: CheckSpec) -> None:
    data, errors = check_spec(VALID_SPEC, name="unit-base-adjust")
    assert errors == []
    assert data["rows"][0]["lookups"][0]["fill"] == {"person_name": "name"}
    assert data["fields"][3]["choices"][0]["value"] == "01"


def test_full_spec_operations_known(check_spec: CheckSpec) -> None:
    _, errors = check_spec(
        VALID_SPEC, name="unit-base-adjust", known_operations=VALID_OPERATIONS
    )
    assert errors == []


def test_unknown_operations_listed(check_spec: CheckSpec) -> None:
    known = VALID_OPERATIONS - {"unit.lookup", "bank.list"}
    _, errors = check_spec(VALID_SPEC, name="unit-base-adjust", known_operations=known)
    assert [(e.line, e.column, e.path) for e in errors] == [
        (39, 21, "fields[5].choices-lookup"),
        (85, 16, "lookups[1].operation"),
    ]
    assert "'bank.list' is not a known connector operation" in errors[0].message
    assert "did you mean 'person.lookup'?" in errors[1].message


# Schema errors: the body after the 7-line header, where, and a phrase of the message.
SCHEMA_ERRORS = [
    # An unknown field type names the allowed ones and the closest.
    pytest.param(
        "fields:\n  - name: a\n    type: idnumber\n    label: A\n",
        10,
        11,
        "fields[0].type",
        "'idnumber' is not a field type; write one of: text, number, money",
        "E105",
        id="enum-field-type",
    ),
    pytest.param(
        "fields:\n  - name: a\n    type: idnumber\n    label: A\n",
        10,
        11,
        "fields[0].type",
        "did you mean 'id-number'?",
        "E105",
        id="enum-closest",
    ),
    # An unknown key is named at the key, with the closest allowed key.
    pytest.param(
        "fields:\n  - name: a\n    type: text\n    lable: A\n",
        11,
        5,
        "fields[0].lable",
        "unknown key 'lable'; did you mean 'label'?",
        "E101",
        id="unknown-key-close",
    ),
    pytest.param(
        "agreement: {title: a, text: b, colour: red}\n",
        8,
        32,
        "agreement.colour",
        "the keys allowed here are: accept-label, text, title",
        "E101",
        id="unknown-key-far",
    ),
    # A missing key is named at its mapping.
    pytest.param(
        "fields:\n  - name: a\n    type: text\n",
        9,
        5,
        "fields[0]",
        "the required key 'label' is missing; add a line label: ...",
        "E102",
        id="required",
    ),
    pytest.param(
        "fields:\n  - {name: Amount, type: money, label: A}\n",
        9,
        12,
        "fields[0].name",
        "'Amount' is not valid; expected lower-case letters, digits and underscores",
        "E106",
        id="pattern-described",
    ),
    pytest.param(
        "lookups:\n  - {name: l, operation: lookup, fill: {a: b}}\n",
        9,
        26,
        "lookups[0].operation",
        "expected a connector operation such as person.lookup",
        "E106",
        id="pattern-operation",
    ),
    pytest.param(
        "lookups:\n  - {name: l, operation: a.b, fill: {Name: b}}\n",
        9,
        38,
        "lookups[0].fill.Name",
        "the key 'Name' is not valid; expected lower-case",
        "E107",
        id="property-name",
    ),
    pytest.param(
        "fields:\n  - {name: a, type: money, label: A, checks: {min: lots}}\n",
        9,
        52,
        "fields[0].checks.min",
        "'lots' is not valid; expected a number, or a policy figure written as policy",
        "E106",
        id="one-of-described",
    ),
    pytest.param(
        "fields:\n  - {name: a, type: text, label: A, required: 'yes'}\n",
        9,
        47,
        "fields[0].required",
        "expected true or false, got 'yes'",
        "E103",
        id="type-boolean",
    ),
    pytest.param(
        "fields:\n  - {name: a, type: text, label: 5}\n",
        9,
        34,
        "fields[0].label",
        "expected text, got the number 5; write '5' in quotes if it is text",
        "E103",
        id="type-text",
    ),
    pytest.param(
        "fields:\n  - {name: a, type: text, label: }\n",
        9,
        34,  # libyaml places an empty value at the token that ends it
        "fields[0].label",
        "the value is empty; write text",
        "E104",
        id="type-empty",
    ),
    pytest.param(
        "fields:\n  - {name: a, type: text, label: ''}\n",
        9,
        34,
        "fields[0].label",
        "the text is empty; write at least one character",
        "E108",
        id="min-length",
    ),
    pytest.param(
        "attachments:\n  - {kind: a, label: A, types: [pdf], max-count: 80}\n",
        9,
        50,
        "attachments[0].max-count",
        "80 is above the maximum 50",
        "E111",
        id="maximum",
    ),
    pytest.param(
        "attachments:\n  - {kind: a, label: A, types: [pdf, png, pdf]}\n",
        9,
        32,
        "attachments[0].types",
        "pdf is listed more than once",
        "E114",
        id="unique-items",
    ),
    pytest.param(
        "rows:\n  - {name: r, label: R, fields: []}\n",
        9,
        33,
        "rows[0].fields",
        "the list has 0 items; give at least 1",
        "E112",
        id="min-items",
    ),
    pytest.param(
        "lookups:\n  - {name: l, operation: a.b, fill: {}}\n",
        9,
        37,
        "lookups[0].fill",
        "the mapping is empty",
        "E113",
        id="min-properties",
    ),
]


@pytest.mark.parametrize(
    ("body", "line", "column", "path", "phrase", "code"), SCHEMA_ERRORS
)
def test_schema_error_in_words(
    check_body: CheckBody,
    body: str,
    line: int,
    column: int,
    path: str,
    phrase: str,
    code: str,
) -> None:
    errors = check_body(body)
    matching = [error for error in errors if phrase in error.message]
    assert len(matching) == 1, errors
    assert (matching[0].line, matching[0].column) == (line, column)
    assert (matching[0].path, matching[0].code) == (path, code)


ROWS = """\
rows:
  - name: staff
    label: S
    fields:
      - {name: id_number, type: id-number, label: I}
      - {name: base, type: money, label: B}
"""

# Semantic rules: the body after the 7-line header (ROWS takes lines 8 to 13), where
# the error is, and a phrase of the message.
RULES = [
    # Names are unique in their scope.
    pytest.param(
        "fields:\n  - {name: a, type: text, label: A}\n"
        "  - {name: a, type: text, label: B}\n",
        10,
        12,
        "fields[1].name",
        "the field or row table name 'a' is already used at fields[0].name",
        "E205",
        id="duplicate-field",
    ),
    pytest.param(
        ROWS + "fields:\n  - {name: staff, type: text, label: A}\n",
        9,
        11,
        "rows[0].name",
        "name 'staff' is already used at fields[0].name",
        "E205",
        id="field-named-like-row-table",
    ),
    pytest.param(
        ROWS + "      - {name: base, type: text, label: C}\n",
        14,
        16,
        "rows[0].fields[2].name",
        "the field name 'base' is already used at rows[0].fields[1].name",
        "E205",
        id="duplicate-row-field",
    ),
    pytest.param(
        "attachments:\n  - {kind: card, label: A, types: [jpeg]}\n"
        "  - {kind: card, label: B, types: [pdf]}\n",
        10,
        12,
        "attachments[1].kind",
        "the attachment kind 'card' is already used",
        "E205",
        id="duplicate-attachment-kind",
    ),
    pytest.param(
        ROWS + "    lookups:\n      - {name: find, operation: a.b, fill: {base: x}}\n"
        "fields:\n  - {name: a, type: text, label: A}\n"
        "lookups:\n  - {name: find, operation: a.b, fill: {a: x}}\n",
        15,
        16,
        "rows[0].lookups[0].name",
        "the lookup name 'find' is already used at lookups[0].name",
        "E205",
        id="duplicate-lookup-across-scopes",
    ),
    # Choice fields and their options.
    pytest.param(
        "fields:\n  - {name: a, type: choice, label: A}\n",
        9,
        5,
        "fields[0]",
        "the choice field 'a' has no options; add choices",
        "E303",
        id="choice-without-options",
    ),
    pytest.param(
        "fields:\n  - name: a\n    type: choice\n    label: A\n"
        "    choices: [{value: '1', label: One}]\n    choices-lookup: codes.list\n",
        13,
        5,
        "fields[0].choices-lookup",
        "takes either choices or choices-lookup, not both",
        "E302",
        id="choice-with-both",
    ),
    pytest.param(
        "fields:\n  - {name: a, type: text, label: A, choices-lookup: codes.list}\n",
        9,
        37,
        "fields[0].choices-lookup",
        "only a choice field takes choices-lookup; remove it, or write type: choice",
        "E301",
        id="options-on-text-field",
    ),
    # Lookups name fields of their own scope.
    pytest.param(
        "fields:\n  - {name: code, type: text, label: A}\n"
        "lookups:\n  - {name: u, trigger: cod, operation: a.b, fill: {code: x}}\n",
        11,
        24,
        "lookups[0].trigger",
        "the trigger 'cod' is not a field at the top level of the form; "
        "did you mean 'code'?",
        "E401",
        id="trigger-unknown",
    ),
    pytest.param(
        "fields:\n  - {name: code, type: text, label: A}\n"
        "lookups:\n  - {name: u, operation: a.b, fill: {title: x}}\n",
        11,
        38,
        "lookups[0].fill.title",
        "fill names 'title', which is not a field",
        "E402",
        id="fill-unknown",
    ),
    pytest.param(
        "fields:\n  - {name: code, type: text, label: A}\n"
        "lookups:\n  - {name: u, operation: a.b, params: {c: unit}, fill: {code: x}}\n",
        11,
        43,
        "lookups[0].params.c",
        "the parameter reads 'unit', which is not a field",
        "E403",
        id="param-unknown",
    ),
    pytest.param(
        ROWS + "    lookups:\n      - {name: p, operation: a.b, fill: {total: x}}\n"
        "fields:\n  - {name: total, type: money, label: T}\n",
        15,
        42,
        "rows[0].lookups[0].fill.total",
        "'total', which is not a field in the row table 'staff'",
        "E402",
        id="row-lookup-fills-top-field",
    ),
    # Calculations.
    pytest.param(
        "fields:\n  - {name: total, type: money, label: T, read-only: true}\n"
        "calculations:\n  - {target: totl, expression: '1 + 1'}\n",
        11,
        14,
        "calculations[0].target",
        "the target 'totl' is not a field",
        "E313",
        id="target-unknown",
    ),
    pytest.param(
        "fields:\n  - {name: total, type: money, label: T}\n"
        "calculations:\n  - {target: total, expression: '1 + 1'}\n",
        11,
        14,
        "calculations[0].target",
        "the field 'total' is calculated, so people must not type into it; "
        "add read-only: true to fields[0]",
        "E314",
        id="target-not-read-only",
    ),
    pytest.param(
        "fields:\n  - {name: t, type: money, label: T, read-only: true}\n"
        "calculations:\n  - {target: t, expression: '1 +'}\n",
        11,
        29,
        "calculations[0].expression",
        "the expression '1 +' is invalid: syntax error",
        "E305",
        id="expression-syntax",
    ),
    pytest.param(
        "fields:\n  - {name: t, type: money, label: T, read-only: true}\n"
        "calculations:\n  - {target: t, expression: 'eval(t)'}\n",
        11,
        29,
        "calculations[0].expression",
        "calls eval(), which is not a function of the expression language; write one",
        "E306",
        id="expression-function",
    ),
    pytest.param(
        "fields:\n  - {name: t, type: money, label: T, read-only: true}\n"
        "calculations:\n  - {target: t, expression: 'amount * 2'}\n",
        11,
        29,
        "calculations[0].expression",
        "the expression reads 'amount', which is not a field here; write one of: t",
        "E307",
        id="expression-unknown-name",
    ),
    pytest.param(
        ROWS + "fields:\n  - {name: t, type: money, label: T, read-only: true}\n"
        "calculations:\n  - {target: t, expression: 'count(staff)'}\n",
        17,
        29,
        "calculations[0].expression",
        "'staff' is a row table, not a field; read a column of it as staff.FIELD",
        "E308",
        id="expression-row-table-as-name",
    ),
    pytest.param(
        "fields:\n  - {name: t, type: money, label: T, read-only: true}\n"
        "calculations:\n  - {target: t, expression: 'policy.base_caps * 2'}\n",
        11,
        29,
        "calculations[0].expression",
        "policy.base_caps is not a policy figure in policy.yaml; "
        "did you mean 'base_cap'?",
        "E304",
        id="expression-policy-unknown",
    ),
    pytest.param(
        ROWS + "fields:\n  - {name: t, type: money, label: T, read-only: true}\n"
        "calculations:\n  - {target: t, expression: 'sum(staf.base)'}\n",
        17,
        29,
        "calculations[0].expression",
        "staf.base reads 'staf', which is not a row table; did you mean 'staff'?",
        "E309",
        id="expression-table-unknown",
    ),
    pytest.param(
        ROWS + "fields:\n  - {name: t, type: money, label: T, read-only: true}\n"
        "calculations:\n  - {target: t, expression: 'sum(staff.bas)'}\n",
        17,
        29,
        "calculations[0].expression",
        "staff.bas: the row table 'staff' has no field 'bas'; did you mean 'base'?",
        "E310",
        id="expression-column-unknown",
    ),
    pytest.param(
        "fields:\n  - {name: t, type: money, label: T, read-only: true}\n"
        "calculations:\n  - {target: t, expression: '1', places: policy.places}\n",
        11,
        42,
        "calculations[0].places",
        "policy.places is not a policy figure",
        "E304",
        id="places-policy-unknown",
    ),
    pytest.param(
        ROWS + "    calculations:\n      - {target: base, expression: 'id_number'}\n",
        15,
        18,
        "rows[0].calculations[0].target",
        "the field 'base' is calculated, so people must not type into it",
        "E314",
        id="row-target-not-read-only",
    ),
    pytest.param(
        ROWS + "      - {name: d, type: money, label: D, read-only: true}\n"
        "    calculations:\n      - {target: d, expression: 'base * rate'}\n"
        "fields:\n  - {name: t, type: money, label: T, read-only: true}\n"
        "calculations:\n"
        "  - {target: t, expression: '1'}\n  - {target: t, expression: '2'}\n",
        16,
        33,
        "rows[0].calculations[0].expression",
        "reads 'rate', which is not a field here",
        "E307",
        id="row-expression-unknown-name",
    ),
    pytest.param(
        "fields:\n  - {name: t, type: money, label: T, read-only: true}\n"
        "calculations:\n"
        "  - {target: t, expression: '1'}\n  - {target: t, expression: '2'}\n",
        12,
        14,
        "calculations[1].target",
        "the calculation target 't' is already used at calculations[0].target",
        "E205",
        id="duplicate-target",
    ),
    # Field checks and expressions.
    pytest.param(
        "fields:\n"
        "  - {name: a, type: money, label: A, checks: {max: policy.base_caps}}\n",
        9,
        52,
        "fields[0].checks.max",
        "policy.base_caps is not a policy figure",
        "E304",
        id="checks-policy-unknown",
    ),
    pytest.param(
        "fields:\n  - {name: a, type: text, label: A, visible-when: \"kind == '1'\"}\n",
        9,
        51,
        "fields[0].visible-when",
        "reads 'kind', which is not a field here",
        "E311",
        id="visible-when-unknown-name",
    ),
    pytest.param(
        "fields:\n  - {name: a, type: text, label: A, default-expression: 'a.b.c'}\n",
        9,
        57,
        "fields[0].default-expression",
        "only policy.NAME and TABLE.FIELD may use a dot",
        "E305",
        id="default-expression-invalid",
    ),
    # Steps.
    pytest.param(
        "fields:\n  - {name: a, type: text, label: A}\n"
        "steps:\n  - {name: one, title: One, fields: [a, b]}\n",
        11,
        41,
        "steps[0].fields[1]",
        "'b' is not a field or row table of this form",
        "E503",
        id="step-field-unknown",
    ),
    pytest.param(
        "fields:\n  - {name: a, type: text, label: A}\n"
        "steps:\n  - {name: one, title: One, fields: [a]}\n"
        "  - {name: two, title: Two, fields: [a]}\n",
        12,
        38,
        "steps[1].fields[0]",
        "'a' is already shown in the step 'one'",
        "E504",
        id="step-field-twice",
    ),
    # Prefilled rows.
    pytest.param(
        ROWS + "    prefill: {operation: a.b, key: id, fill: {bas: amount}}\n",
        14,
        36,
        "rows[0].prefill.key",
        "the key 'id' is not a field in the row table",
        "E405",
        id="prefill-key-unknown",
    ),
    pytest.param(
        ROWS + "    prefill: {operation: a.b, key: id_number, fill: {bas: amount}}\n",
        14,
        54,
        "rows[0].prefill.fill.bas",
        "fill names 'bas', which is not a field",
        "E402",
        id="prefill-fill-unknown",
    ),
]


@pytest.mark.parametrize(("body", "line", "column", "path", "phrase", "code"), RULES)
def test_semantic_rule_located(
    check_body: CheckBody,
    body: str,
    line: int,
    column: int,
    path: str,
    phrase: str,
    code: str,
) -> None:
    errors = check_body(body)
    matching = [error for error in errors if phrase in error.message]
    assert len(matching) == 1, errors
    assert (matching[0].line, matching[0].column) == (line, column)
    assert (matching[0].path, matching[0].code) == (path, code)


def test_row_calculation_reads_top_field(check_body: CheckBody) -> None:
    body = (
        ROWS + "      - {name: d, type: money, label: D, read-only: true}\n"
        "    calculations:\n      - {target: d, expression: 'base * ratio / 100'}\n"
        "fields:\n  - {name: ratio, type: percent, label: R}\n"
    )
    assert check_body(body) == []


@pytest.mark.parametrize(
    ("name", "folder", "text_id", "hall", "where", "phrase"),
    [
        # The file name and the id differ.
        (
            "unit-y",
            "unit",
            "unit-x",
            "unit",
            (1, 5, "id"),
            "the id 'unit-x' differs from the file name 'unit-y.yaml'; "
            "write id: unit-y",
        ),
        # The folder and the hall differ.
        (
            "person-x",
            "person",
            "person-x",
            "unit",
            (4, 7, "hall"),
            "the hall is 'unit' but the file is in the folder person/",
        ),
        # Outside unit/ and person/, only the prefix of the id is checked.
        (
            "person-x",
            "drafts",
            "person-x",
            "unit",
            (1, 5, "id"),
            "the id of a service in the unit hall starts with 'unit-'; "
            "write id: unit-x",
        ),
    ],
)
def test_identity_rules(
    check_spec: CheckSpec,
    spec_header: str,
    name: str,
    folder: str,
    text_id: str,
    hall: str,
    where: tuple,
    phrase: str,
) -> None:
    text = spec_header.replace("id: unit-x", f"id: {text_id}")
    text = text.replace("hall: unit", f"hall: {hall}")
    data, errors = check_spec(text, name=name, folder=folder)
    assert data is None
    assert [(e.line, e.column, e.path) for e in errors] == [where]
    assert phrase in errors[0].message


@pytest.mark.parametrize(
    ("kind", "drop", "section"),
    [
        ("apply", None, "submit"),
        ("query", "result", "result"),
        ("calc", "result", "result"),
        ("print", None, "print"),
    ],
)
def test_kind_needs_section(
    check_spec: CheckSpec, spec_header: str, kind: str, drop: str | None, section: str
) -> None:
    text = spec_header.replace("kind: calc", f"kind: {kind}")
    if drop:
        text = text.replace("result: {operation: loan.trial}\n", "")
    _, errors = check_spec(text)
    assert [(e.line, e.column, e.path) for e in errors] == [(5, 7, "kind")]
    assert f"a service of kind {kind} needs a {section} section" in errors[0].message


def test_result_sort_names_column(check_spec: CheckSpec, spec_header: str) -> None:
    text = spec_header.replace(
        "result: {operation: loan.trial}",
        "result:\n  operation: a.b\n  table:\n"
        "    columns: [{name: month, label: M}, {name: amount, label: A}]\n"
        "    sort: mounth\n",
    )
    _, errors = check_spec(text)
    assert [(e.line, e.column, e.path) for e in errors] == [
        (11, 11, "result.table.sort")
    ]
    assert "sort names 'mounth', which is not a column" in errors[0].message
    assert "did you mean 'month'?" in errors[0].message


def test_all_errors_reported_at_once(check_spec: CheckSpec) -> None:
    text = """\
id: unit-x
version: 0
title: T
hall: unit
kind: calc
menu: {group: g, order: 01}
fields:
  - {name: a, type: txt, label: A}
  - {name: b, type: text, label: no, colour: red}
  - {name: c, type: text}
result: {operation: a.b}
description: 2024-01-01
"""
    data, errors = check_spec(text)
    assert data is None
    assert [(e.line, e.column, e.path) for e in errors] == [
        (2, 10, "version"),
        (6, 25, "menu.order"),
        (8, 21, "fields[0].type"),
        (9, 34, "fields[1].label"),
        (9, 38, "fields[1].colour"),
        (10, 5, "fields[2]"),
        (12, 14, "description"),
    ]


def test_semantic_errors_all_reported(check_body: CheckBody) -> None:
    body = """\
fields:
  - {name: a, type: choice, label: A}
  - {name: a, type: text, label: B}
calculations:
  - {target: a, expression: 'x + policy.nope'}
"""
    errors = check_body(body)
    assert [(e.line, e.column, e.path) for e in errors] == [
        (9, 5, "fields[0]"),
        (10, 12, "fields[1].name"),
        (12, 14, "calculations[0].target"),
        (12, 29, "calculations[0].expression"),
        (12, 29, "calculations[0].expression"),
    ]


def test_error_text_format(check_body: CheckBody, specs_root: Path) -> None:
    errors = check_body("fields:\n  - {name: a, type: idnumber, label: A}\n")
    assert len(errors) == 1
    assert str(errors[0]).startswith(
        f"{specs_root}/unit/unit-x.yaml:9:21: fields[0].type: 'idnumber' is not a "
        "field type; write one of: text, number, money,"
    )


def test_load_specs_reports_duplicate_ids(
    write_spec: Callable[..., Path], spec_header: str, policy_names: set[str]
) -> None:
    first = write_spec(spec_header, name="unit-x")
    second = write_spec(spec_header, name="unit-x", folder="copies")
    specs, errors = load_specs([first, second], policy_names=policy_names)
    assert list(specs) == ["unit-x"]
    assert [(e.file, e.line, e.column, e.path) for e in errors] == [
        (str(second), 1, 5, "id")
    ]
    assert f"the id 'unit-x' is already used by {first}" in errors[0].message


def test_load_specs_leaves_out_broken(
    write_spec: Callable[..., Path], spec_header: str, policy_names: set[str]
) -> None:
    good = write_spec(spec_header, name="unit-x")
    text = spec_header.replace("title: T", "title: ''").replace("unit-x", "unit-y")
    broken = write_spec(text, name="unit-y")
    specs, errors = load_specs([good, broken], policy_names=policy_names)
    assert list(specs) == ["unit-x"]
    assert [(e.file, e.path) for e in errors] == [(str(broken), "title")]


def test_check_file_returns_data(
    write_spec: Callable[..., Path], spec_header: str, policy_names: set[str]
) -> None:
    data, errors = check_file(write_spec(spec_header), policy_names=policy_names)
    assert errors == []
    assert data["menu"] == {"group": "g", "order": 1}


def test_spec_paths_sorted(specs_root: Path) -> None:
    for name in ("person/person-b.yaml", "unit/unit-b.yaml", "unit/unit-a.yaml"):
        (specs_root / name).write_text("id: x\n", encoding="utf-8")
    (specs_root / "unit" / "notes.txt").write_text("", encoding="utf-8")
    assert [
        path.relative_to(specs_root).as_posix() for path in spec_paths(specs_root)
    ] == [
        "person/person-b.yaml",
        "unit/unit-a.yaml",
        "unit/unit-b.yaml",
    ]


def test_check_failed_lists_errors() -> None:
    errors = [
        SpecError("a.yaml", 1, 5, "id", "first"),
        SpecError("b.yaml", 2, 3, "(file)", "second"),
    ]
    failure = SpecCheckFailed(errors)
    assert failure.errors == errors
    assert str(failure) == "a.yaml:1:5: id: first\nb.yaml:2:3: (file): second"


def test_error_text_ends_with_code() -> None:
    error = SpecError("a.yaml", 3, 7, "fields[0].type", "wrong", "E105")
    assert str(error) == "a.yaml:3:7: fields[0].type: wrong [E105]"
    assert not error.is_warning
