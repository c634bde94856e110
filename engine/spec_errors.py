"""The catalogue of spec findings: each code, its meaning and its message template.

A code never changes meaning once published, so analysts, tests and tools can rely on
it. Codes starting with E are errors, which stop a spec from loading; codes starting
with W are warnings, which a spec may carry and still load. Each message says what is
wrong and what to write instead; `{name}` placeholders are filled by `message`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Code:
    """One kind of finding: its stable code, a short name and the message template."""

    code: str
    name: str
    template: str

    @property
    def severity(self) -> str:
        return WARNING if self.code.startswith("W") else ERROR


_CODES = (
    # Reading the file ----------------------------------------------------------------
    Code(
        "E001",
        "not-utf8",
        "the file is not valid UTF-8 text; save it with the UTF-8 encoding",
    ),
    Code(
        "E002",
        "empty-file",
        "the file is empty; write the keys of a spec: id, title, hall, ...",
    ),
    Code("E003", "yaml-syntax", "invalid YAML: {problem}"),
    Code(
        "E004",
        "alias",
        "alias *{name} is not supported in specs; write the value out in full here",
    ),
    Code(
        "E005",
        "anchor",
        "anchor &{name} is not supported in specs; remove it and write repeated "
        "values out in full",
    ),
    Code(
        "E006",
        "tag",
        "tag {tag} is not allowed in specs; remove {tag} and write the plain value "
        "(quote it if it is text)",
    ),
    Code(
        "E007",
        "duplicate-key",
        "duplicate key {key!r}; it is already given on line {line}, so keep only one "
        "of the two",
    ),
    Code("E008", "alias-key", "alias *{name} cannot be a key; write the key out"),
    Code("E009", "complex-key", "a key must be plain text, not a list or a mapping"),
    Code(
        "E010",
        "merge-key",
        "merge keys (<<) are not supported in specs; write the keys of the merged "
        "mapping out in full here",
    ),
    Code(
        "E011",
        "boolean-word",
        "{text} without quotes is read as the boolean {meaning}; write '{text}' in "
        "quotes if you mean the text",
    ),
    Code(
        "E012",
        "boolean-word-for-flag",
        "{text} without quotes is read as the boolean {meaning}; write {meaning} for "
        "the boolean, or '{text}' in quotes for the text",
    ),
    Code(
        "E013",
        "one-letter-boolean",
        "{text} without quotes is a boolean for YAML 1.1 tools other than PyYAML; "
        "write '{text}' in quotes if you mean the text",
    ),
    Code(
        "E014",
        "leading-zero-number",
        "{text} without quotes is read as the number {value}; write '{text}' in "
        "quotes if it is a code, or {number} if it is a number",
    ),
    Code(
        "E015",
        "leading-zero-text",
        "{text} without quotes is read as text, but similar values such as 07 are "
        "read as numbers; write '{text}' in quotes if it is a code, or {number} if "
        "it is a number",
    ),
    Code(
        "E016",
        "base-60-number",
        "{text} without quotes is read as the base-60 number {value}; write "
        "'{text}' in quotes",
    ),
    Code(
        "E017",
        "timestamp",
        "{text} without quotes is read as a {kind}; write '{text}' in quotes",
    ),
    # The meta-schema -----------------------------------------------------------------
    Code("E101", "unknown-key", "unknown key {key!r}; {hint}"),
    Code(
        "E102",
        "missing-key",
        "the required key {key!r} is missing; add a line {key}: ...{description}",
    ),
    Code("E103", "wrong-type", "expected {expected}, got {shown}{quote_hint}"),
    Code("E104", "empty-value", "the value is empty; write {expected}"),
    Code(
        "E105",
        "not-allowed-value",
        "{shown} is not {noun}; write one of: {options}{closest}",
    ),
    Code("E106", "invalid-value", "{shown} is not valid; {expectation}"),
    Code("E107", "invalid-key", "the key {key!r} is not valid; {expectation}"),
    Code("E108", "empty-text", "the text is empty; write at least one character"),
    Code(
        "E109",
        "text-too-long",
        "the text has {length} characters; shorten it to at most {limit}",
    ),
    Code(
        "E110",
        "below-minimum",
        "{value} is below the minimum {limit}; write {limit} or more",
    ),
    Code(
        "E111",
        "above-maximum",
        "{value} is above the maximum {limit}; write {limit} or less",
    ),
    Code("E112", "too-few-items", "the list has {count} items; give at least {limit}"),
    Code(
        "E113",
        "empty-mapping",
        "the mapping is empty; give at least {limit} key: value line",
    ),
    Code(
        "E114",
        "repeated-item",
        "{repeated} is listed more than once; list each value once",
    ),
    Code(
        "E119",
        "schema-other",
        "{detail}; see the spec meta-schema for what is allowed here",
    ),
    # Identity, names and the menu ----------------------------------------------------
    Code(
        "E201",
        "id-not-file-name",
        "the id {spec_id!r} differs from the file name {file_name!r}; write id: "
        "{stem}, or rename the file to {spec_id}.yaml",
    ),
    Code(
        "E202",
        "hall-not-folder",
        "the hall is {hall!r} but the file is in the folder {folder}/; write hall: "
        "{folder}, or move the file to the folder {hall}/",
    ),
    Code(
        "E203",
        "id-prefix",
        "the id of a service in the {hall} hall starts with '{hall}-'; write id: "
        "{hall}-{rest}",
    ),
    Code(
        "E204",
        "id-used-twice",
        "the id {spec_id!r} is already used by {other}; give each service its own id",
    ),
    Code(
        "E205",
        "name-used-twice",
        "the {noun} {name!r} is already used at {first}; rename one of the two",
    ),
    Code(
        "E206",
        "menu-title-used-twice",
        "the title {title!r} is already in the {hall} hall's menu, for {other}; "
        "give each service a title of its own",
    ),
    # Fields and expressions ----------------------------------------------------------
    Code(
        "E301",
        "options-on-other-type",
        "only a choice field takes {key}; remove it, or write type: choice",
    ),
    Code(
        "E302",
        "choices-and-lookup",
        "a choice field takes either choices or choices-lookup, not both; remove one "
        "of them",
    ),
    Code(
        "E303",
        "choice-without-options",
        "the choice field {name!r} has no options; add choices (a list of value and "
        "label) or choices-lookup (a connector operation)",
    ),
    Code(
        "E304",
        "unknown-policy-figure",
        "policy.{name} is not a policy figure in policy.yaml; {hint}",
    ),
    Code("E305", "invalid-expression", "the expression {text!r} is invalid: {problem}"),
    Code(
        "E306",
        "unknown-function",
        "the expression calls {name}(), which is not a function of the expression "
        "language; {hint}",
    ),
    Code(
        "E307",
        "unknown-name",
        "the expression reads {name!r}, which is not a field here; {hint}",
    ),
    Code(
        "E308",
        "table-as-field",
        "{name!r} is a row table, not a field; read a column of it as {name}.FIELD, "
        "as in sum({name}.amount)",
    ),
    Code(
        "E309",
        "unknown-table",
        "{table}.{column} reads {table!r}, which is not a row table; {hint}",
    ),
    Code(
        "E310",
        "unknown-column",
        "{table}.{column}: the row table {table!r} has no field {column!r}; {hint}",
    ),
    Code(
        "E311",
        "visible-when-unknown-field",
        "visible-when reads {name!r}, which is not a field here, so the field would "
        "never show; {hint}",
    ),
    Code(
        "E315",
        "filter-unknown-name",
        "the filter reads {name!r}, which is neither a column of the table nor a "
        "field of the form; {hint}",
    ),
    Code(
        "E312",
        "calculation-cycle",
        "the calculations {cycle} depend on each other in a circle, so none can be "
        "worked out; make one of them read typed fields only",
    ),
    Code(
        "E313",
        "target-not-field",
        "the target {name!r} is not a field {where}; {hint}",
    ),
    Code(
        "E314",
        "target-not-read-only",
        "the field {name!r} is calculated, so people must not type into it; add "
        "read-only: true to {field_path}",
    ),
    # Lookups and connector operations ------------------------------------------------
    Code(
        "E401",
        "trigger-not-field",
        "the trigger {name!r} is not a field {where}; {hint}",
    ),
    Code(
        "E402",
        "fill-not-field",
        "fill names {name!r}, which is not a field {where}; {hint}",
    ),
    Code(
        "E403",
        "parameter-not-field",
        "the parameter reads {name!r}, which is not a field {where}; {hint}",
    ),
    Code(
        "E404",
        "unknown-operation",
        "{name!r} is not a known connector operation; {hint}",
    ),
    Code(
        "E405",
        "prefill-key-not-field",
        "the key {name!r} is not a field {where}; {hint}",
    ),
    # Row table imports ---------------------------------------------------------------
    Code(
        "E411",
        "import-unknown-column",
        "{name!r} is not a field of the row table {table!r}, so no column of the "
        "file can fill it; {hint}",
    ),
    Code(
        "E412",
        "import-key-not-column",
        "the import key {key!r} is not one of the import's columns; add {key} to "
        "columns, since each row of the file finds its record by it",
    ),
    Code(
        "E413",
        "import-without-key",
        "the row table {table!r} has an import but no prefill key, so a row of the "
        "file cannot find its record; add prefill: with its operation and key",
    ),
    Code(
        "E414",
        "import-key-not-prefill-key",
        "the import key {key!r} differs from the prefill key {prefill_key!r}; write "
        "key: {prefill_key}, since rows are matched on the prefill key",
    ),
    Code(
        "E415",
        "import-read-only-column",
        "the field {name!r} is read-only, so a file must not set it; move it to "
        "reference-columns, or remove it from columns",
    ),
    Code(
        "E416",
        "import-reference-not-read-only",
        "the reference column {name!r} is a field people edit, so the file would "
        "ignore what they type in it; list it under columns instead",
    ),
    Code(
        "E417",
        "import-column-twice",
        "{name!r} is listed in both columns and reference-columns; keep it in one",
    ),
    # Service kinds and sections ------------------------------------------------------
    Code(
        "E501",
        "kind-needs-section",
        "a service of kind {kind} needs a {section} section; add {section}: with its "
        "operation",
    ),
    Code(
        "E502",
        "sort-not-column",
        "sort names {name!r}, which is not a column of the table; {hint}",
    ),
    Code(
        "E503",
        "step-unknown-field",
        "{name!r} is not a field or row table of this form; {hint}",
    ),
    Code(
        "E504",
        "step-repeats-field",
        "{name!r} is already shown in the step {step!r}; list it in one step only",
    ),
    Code(
        "E505",
        "print-template-missing",
        "the print template {name!r} is not in {folder}; {hint}",
    ),
    Code(
        "E506",
        "print-template-undefined-name",
        "the print template {template!r} uses {name!r}, which the print page does "
        "not provide; {hint}",
    ),
    Code(
        "E507",
        "print-template-invalid",
        "the print template {template!r} cannot be read: {problem}",
    ),
    Code(
        "E508",
        "print-validity-unprinted",
        "the print template {template!r} does not print valid_days, so the "
        "verification page would count a validity that the certificate never states; "
        "print it in words with valid_days|chinese_count",
    ),
    Code(
        "E509",
        "print-validity-undeclared",
        "the print template {template!r} prints valid_days, which the spec does not "
        "declare; add print.valid_days, the days the certificate stays valid",
    ),
    Code("E599", "rule-other", "{detail}"),
    # Warnings ------------------------------------------------------------------------
    Code(
        "W601",
        "attachment-without-limits",
        "the attachment {kind!r} states no {missing}, so the engine's default of "
        "{defaults} applies; write {keys} to state the limit the centre wants",
    ),
    Code(
        "W602",
        "file-field-without-limits",
        "the file field {name!r} states no {missing}; write {keys} so people know "
        "which files are accepted",
    ),
    Code(
        "W603",
        "menu-order-shared",
        "the menu group {group!r} has {other} at the same order {order} too; give "
        "each service its own order so that the menu order is clear",
    ),
)

CATALOGUE: dict[str, Code] = {entry.code: entry for entry in _CODES}


def message(code: str, **params: object) -> str:
    """Return the message of `code` with its placeholders filled from `params`."""
    return CATALOGUE[code].template.format(**params)


def is_warning(code: str) -> bool:
    return CATALOGUE[code].severity == WARNING if code in CATALOGUE else False


def did_you_mean(name: str, options: Iterable[str], noun: str) -> str:
    """Return a hint naming which of `options` to write instead of `name`."""
    choices = sorted(options)
    if not choices:
        return f"there is no {noun} to name here"
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"write one of: {', '.join(choices)}"
