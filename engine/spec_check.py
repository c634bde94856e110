"""Check spec files against the meta-schema and the rules that tie a spec together."""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

import engine
from engine.expressions import ExpressionError, compile_expression
from engine.spec_loader import LoadedYaml, SpecError, SpecPath, format_path, load_yaml

__all__ = [
    "SpecCheckFailed",
    "SpecError",
    "check_file",
    "load_specs",
    "meta_schema",
    "spec_paths",
]

SCHEMA_PATH = Path(engine.__file__).parent / "schemas" / "spec.schema.json"
HALLS = ("unit", "person")

# A problem found by a check: where it is, whether it is about the key at that path
# rather than its value, and the message.
Finding = tuple[SpecPath, bool, str]


class SpecCheckFailed(Exception):
    """Raised when specs have errors; its message lists them, one per line."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


@functools.cache
def meta_schema() -> dict[str, Any]:
    """Return the spec meta-schema, read once from the repository."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(meta_schema())


def spec_paths(root: Path) -> list[Path]:
    """Return the spec files under `root`/unit and `root`/person, sorted."""
    paths: list[Path] = []
    for hall in HALLS:
        folder = root / hall
        if folder.is_dir():
            paths.extend(path for path in folder.glob("*.yaml") if path.is_file())
    return sorted(path for path in paths if path.name != "policy.yaml")


def check_file(
    path: Path, *, policy_names: set[str], known_operations: set[str] | None = None
) -> tuple[dict[str, Any] | None, list[SpecError]]:
    """Check one spec file and return its data with every error found, sorted by line.

    The data is None unless the file has no error at all, so a caller cannot use half
    of a broken spec by mistake.
    """
    loaded, errors = _check_loaded(path, policy_names, known_operations)
    if errors or not isinstance(loaded.data, dict):
        return None, errors
    return loaded.data, errors


def load_specs(
    paths: Iterable[Path],
    *,
    policy_names: set[str],
    known_operations: set[str] | None = None,
) -> tuple[dict[str, dict[str, Any]], list[SpecError]]:
    """Check many spec files and return the error-free specs by id, and all errors.

    Besides the errors of each file, an id given in two files is an error of the
    second file.
    """
    specs: dict[str, dict[str, Any]] = {}
    first_files: dict[str, str] = {}
    all_errors: list[SpecError] = []
    for path in paths:
        loaded, errors = _check_loaded(path, policy_names, known_operations)
        data = loaded.data
        spec_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(spec_id, str) and spec_id in first_files:
            message = (
                f"the id {spec_id!r} is already used by {first_files[spec_id]}; "
                "give each service its own id"
            )
            errors.append(loaded.error(("id",), message))
        elif isinstance(spec_id, str):
            first_files[spec_id] = loaded.file
        if not errors and isinstance(spec_id, str):
            specs[spec_id] = data
        all_errors.extend(errors)
    return specs, all_errors


def display_name(path: Path) -> str:
    """Return `path` relative to the working folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _check_loaded(
    path: Path, policy_names: set[str], known_operations: set[str] | None
) -> tuple[LoadedYaml, list[SpecError]]:
    """Load, validate against the meta-schema, then apply the semantic rules."""
    loaded = load_yaml(path, file=display_name(path), expected_types=expected_types)
    if loaded.syntax_error or (loaded.data is None and loaded.errors):
        return loaded, list(loaded.errors)

    errors = list(loaded.errors)
    reported_paths = {error.path for error in errors}
    schema_errors = list(_validator().iter_errors(loaded.data))
    for spec_path, key, message in _schema_findings(schema_errors):
        error = loaded.error(spec_path, message, key=key)
        # A YAML surprise already explains the wrong value at this path, but not
        # an unknown or invalid key.
        if key or error.path not in reported_paths:
            errors.append(error)
    if not schema_errors:
        rules = _SpecRules(loaded.data, path, policy_names, known_operations)
        for spec_path, key, message in rules.run():
            errors.append(loaded.error(spec_path, message, key=key))
    return loaded, _sorted_unique(errors)


def _sorted_unique(errors: list[SpecError]) -> list[SpecError]:
    unique = dict.fromkeys(errors)
    return sorted(unique, key=lambda e: (e.line, e.column, e.path, e.message))


# Expected types ----------------------------------------------------------------------


def expected_types(path: SpecPath) -> frozenset[str] | None:
    """Return the JSON types the meta-schema accepts at `path`, or None if unknown."""
    schemas = [meta_schema()]
    for part in path:
        schemas = [
            child for schema in schemas for child in _children(_resolve(schema), part)
        ]
        if not schemas:
            return None
    types: set[str] = set()
    for schema in schemas:
        types |= _types_of(_resolve(schema))
    return frozenset(types) if types else None


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        schema = meta_schema()["$defs"][name]
    return schema


def _children(schema: dict[str, Any], part: str | int) -> list[dict[str, Any]]:
    branches = schema.get("oneOf", []) + schema.get("anyOf", [])
    found = [
        child for branch in branches for child in _children(_resolve(branch), part)
    ]
    if isinstance(part, int) and isinstance(schema.get("items"), dict):
        found.append(schema["items"])
    elif isinstance(part, str):
        if part in schema.get("properties", {}):
            found.append(schema["properties"][part])
        elif isinstance(schema.get("additionalProperties"), dict):
            found.append(schema["additionalProperties"])
    return found


def _types_of(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    for value in schema.get("enum", []):
        types.add(_json_type(value))
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        types |= _types_of(_resolve(branch))
    return types


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null" if value is None else "object"


# Schema errors in words ------------------------------------------------------------

_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping of keys to values",
    "array": "a list (lines starting with '- ')",
    "null": "nothing",
}


def _schema_findings(errors: list[jsonschema.ValidationError]) -> Iterator[Finding]:
    for error in errors:
        yield from _describe(error)


def _describe(error: jsonschema.ValidationError) -> Iterator[Finding]:
    """Turn one jsonschema error into findings, each naming what to write instead."""
    path: SpecPath = tuple(error.absolute_path)
    keyword = error.validator
    if "propertyNames" in error.schema_path:
        key = error.instance
        message = f"the key {key!r} is not valid; {_expectation(error.schema, error)}"
        yield path + (key,), True, message
    elif keyword == "additionalProperties":
        yield from _unknown_keys(error, path)
    elif keyword == "required":
        yield from _missing_keys(error, path)
    elif keyword == "type":
        yield path, False, _type_message(error)
    elif keyword == "enum":
        yield path, False, _enum_message(error)
    elif keyword in {"pattern", "oneOf", "anyOf"}:
        shown = _show(error.instance)
        yield path, False, f"{shown} is not valid; {_expectation(error.schema, error)}"
    else:
        yield path, False, _limit_message(error)


def _unknown_keys(
    error: jsonschema.ValidationError, path: SpecPath
) -> Iterator[Finding]:
    allowed = sorted(error.schema.get("properties", {}))
    for key in error.instance:
        if key in allowed:
            continue
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            hint = f"did you mean {close[0]!r}?"
        else:
            hint = "the keys allowed here are: " + ", ".join(allowed)
        yield path + (key,), True, f"unknown key {key!r}; {hint}"


def _missing_keys(
    error: jsonschema.ValidationError, path: SpecPath
) -> Iterator[Finding]:
    for key in error.validator_value:
        if key in error.instance:
            continue
        message = f"the required key {key!r} is missing; add a line {key}: ..."
        description = error.schema.get("properties", {}).get(key, {}).get("description")
        if description:
            message += f" ({description})"
        yield path, False, message


def _type_message(error: jsonschema.ValidationError) -> str:
    declared = error.validator_value
    names = [declared] if isinstance(declared, str) else list(declared)
    expected = " or ".join(_TYPE_WORDS.get(name, name) for name in names)
    if error.instance is None:
        return f"the value is empty; write {expected}"
    message = f"expected {expected}, got {_show(error.instance)}"
    if "string" in names and not isinstance(error.instance, (dict, list)):
        message += f"; write '{_plain(error.instance)}' in quotes if it is text"
    return message


def _enum_message(error: jsonschema.ValidationError) -> str:
    options = [str(option) for option in error.validator_value]
    noun = error.schema.get("description", "an allowed value")
    message = (
        f"{_show(error.instance)} is not {noun}; write one of: {', '.join(options)}"
    )
    close = difflib.get_close_matches(str(error.instance), options, n=1)
    if close:
        message += f" (the closest is {close[0]!r})"
    return message


def _expectation(schema: dict[str, Any], error: jsonschema.ValidationError) -> str:
    """Describe what is expected, preferring the schema's own description."""
    description = schema.get("description")
    if description:
        return f"expected {description[0].lower()}{description[1:]}"
    if error.validator == "pattern":
        return f"expected text matching the pattern {error.validator_value}"
    # In a oneOf, the branch whose type matched the value explains the failure best.
    for branch_error in error.context or []:
        if branch_error.validator != "type":
            return _limit_message(branch_error)
    return "the value does not have any of the allowed forms"


def _limit_message(error: jsonschema.ValidationError) -> str:
    keyword, limit, value = error.validator, error.validator_value, error.instance
    if keyword == "minLength":
        return "the text is empty; write at least one character"
    if keyword == "maxLength":
        return f"the text has {len(value)} characters; shorten it to at most {limit}"
    if keyword == "minimum":
        return f"{value} is below the minimum {limit}; write {limit} or more"
    if keyword == "maximum":
        return f"{value} is above the maximum {limit}; write {limit} or less"
    if keyword == "minItems":
        return f"the list has {len(value)} items; give at least {limit}"
    if keyword == "minProperties":
        return f"the mapping is empty; give at least {limit} key: value line"
    if keyword == "uniqueItems":
        repeated = sorted({str(item) for item in value if value.count(item) > 1})
        return f"{', '.join(repeated)} is listed more than once; list each value once"
    return f"{error.message}; see the spec meta-schema for what is allowed here"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "nothing"


def _plain(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# Semantic rules --------------------------------------------------------------------


@dataclass
class _Scope:
    """The fields one group of lookups, calculations and expressions can see."""

    path: SpecPath
    fields: dict[str, dict[str, Any]]
    field_paths: dict[str, SpecPath]
    outer: _Scope | None = None

    def readable(self) -> set[str]:
        names = set(self.fields)
        if self.outer is not None:
            names |= self.outer.readable()
        return names


def _scope(
    path: SpecPath, fields: list[dict[str, Any]], outer: _Scope | None
) -> _Scope:
    by_name: dict[str, dict[str, Any]] = {}
    paths: dict[str, SpecPath] = {}
    for index, field in enumerate(fields):
        by_name.setdefault(field["name"], field)
        paths.setdefault(field["name"], path + ("fields", index))
    return _Scope(path, by_name, paths, outer)


def _suggestion(name: str, options: Iterable[str], noun: str) -> str:
    """Return a hint naming which of `options` to write instead of `name`."""
    choices = sorted(options)
    if not choices:
        return f"there is no {noun} to name here"
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"write one of: {', '.join(choices)}"


def _named(
    items: list[dict[str, Any]], path: SpecPath, key: str
) -> list[tuple[SpecPath, str]]:
    """Pair the `key` of each item in a list with the path where it is written."""
    return [(path + (index, key), item[key]) for index, item in enumerate(items)]


class _SpecRules:
    """The rules that the meta-schema cannot express, run on a schema-valid spec."""

    def __init__(
        self,
        spec: dict[str, Any],
        file_path: Path,
        policy_names: set[str],
        known_operations: set[str] | None,
    ) -> None:
        self.spec = spec
        self.file_path = file_path
        self.policy_names = policy_names
        self.known_operations = known_operations
        self.findings: list[Finding] = []
        self.top = _scope((), spec.get("fields", []), None)
        # Each scope goes with the section that contains its lookups and calculations.
        self.sections: list[tuple[_Scope, dict[str, Any]]] = [(self.top, spec)]
        self.tables: dict[str, _Scope] = {}
        for index, table in enumerate(spec.get("rows", [])):
            scope = _scope(("rows", index), table["fields"], self.top)
            self.sections.append((scope, table))
            self.tables.setdefault(table["name"], scope)

    def run(self) -> list[Finding]:
        self.check_identity()
        self.check_unique_names()
        for scope, _section in self.sections:
            for name, field in scope.fields.items():
                self.check_field(scope, field, scope.field_paths[name])
        for scope, section in self.sections:
            self.check_lookups(scope, section)
            self.check_calculations(scope, section)
        self.check_kind()
        self.check_result()
        self.check_steps()
        self.check_prefill()
        self.check_operations()
        return self.findings

    def fail(self, path: SpecPath, message: str, *, key: bool = False) -> None:
        self.findings.append((path, key, message))

    def where(self, scope: _Scope) -> str:
        if scope is self.top:
            return "at the top level of the form"
        return f"in the row table {self.spec['rows'][scope.path[1]]['name']!r}"

    # Identity and names

    def check_identity(self) -> None:
        spec_id, hall = self.spec["id"], self.spec["hall"]
        stem = self.file_path.name.removesuffix(".yaml")
        if spec_id != stem:
            self.fail(
                ("id",),
                f"the id {spec_id!r} differs from the file name "
                f"{self.file_path.name!r}; "
                f"write id: {stem}, or rename the file to {spec_id}.yaml",
            )
        # The id prefix is checked only when the hall agrees with the folder, so that
        # one wrong hall gives one error.
        folder = self.file_path.parent.name
        if folder in HALLS and hall != folder:
            self.fail(
                ("hall",),
                f"the hall is {hall!r} but the file is in the folder {folder}/; "
                f"write hall: {folder}, or move the file to the folder {hall}/",
            )
        elif not spec_id.startswith(f"{hall}-"):
            self.fail(
                ("id",),
                f"the id of a service in the {hall} hall starts with '{hall}-'; "
                f"write id: {hall}-{spec_id.partition('-')[2] or 'name'}",
            )

    def check_unique_names(self) -> None:
        spec = self.spec
        top = _named(spec.get("fields", []), ("fields",), "name")
        top += _named(spec.get("rows", []), ("rows",), "name")
        self.require_unique(top, "field or row table name")
        lookups = []
        for scope, section in self.sections:
            if scope is not self.top:
                fields = _named(section["fields"], scope.path + ("fields",), "name")
                self.require_unique(fields, "field name")
            lookups += _named(
                section.get("lookups", []), scope.path + ("lookups",), "name"
            )
            targets = _named(
                section.get("calculations", []),
                scope.path + ("calculations",),
                "target",
            )
            self.require_unique(targets, "calculation target")
        self.require_unique(lookups, "lookup name")
        kinds = _named(spec.get("attachments", []), ("attachments",), "kind")
        self.require_unique(kinds, "attachment kind")
        # An upload is posted under its kind, so a field of the same name would
        # receive the file instead of its own value.
        names = {name: path for path, name in top}
        for path, kind in kinds:
            if kind in names:
                self.fail(
                    path,
                    f"the attachment kind {kind!r} is also the name at "
                    f"{format_path(names[kind])}, and the form posts both under "
                    "that name; rename one of the two",
                )
        self.require_unique(
            _named(spec.get("steps", []), ("steps",), "name"), "step name"
        )

    def require_unique(self, entries: list[tuple[SpecPath, str]], noun: str) -> None:
        first: dict[str, SpecPath] = {}
        for path, name in entries:
            if name in first:
                self.fail(
                    path,
                    f"the {noun} {name!r} is already used at "
                    f"{format_path(first[name])}; rename one of the two",
                )
            else:
                first[name] = path

    # Fields

    def check_field(self, scope: _Scope, field: dict[str, Any], path: SpecPath) -> None:
        self.check_choices(field, path)
        checks = field.get("checks", {})
        for bound in ("min", "max"):
            value = checks.get(bound)
            if isinstance(value, str) and value.startswith("policy."):
                self.check_policy_name(path + ("checks", bound), value)
        for key in ("visible-when", "default-expression"):
            if key in field:
                self.check_expression(path + (key,), field[key], scope)

    def check_choices(self, field: dict[str, Any], path: SpecPath) -> None:
        given = [key for key in ("choices", "choices-lookup") if key in field]
        if field["type"] != "choice":
            for key in given:
                self.fail(
                    path + (key,),
                    f"only a choice field takes {key}; "
                    "remove it, or write type: choice",
                    key=True,
                )
        elif len(given) == 2:
            self.fail(
                path + ("choices-lookup",),
                "a choice field takes either choices or choices-lookup, not both; "
                "remove one of them",
                key=True,
            )
        elif not given:
            self.fail(
                path,
                f"the choice field {field['name']!r} has no options; add choices "
                "(a list of value and label) or choices-lookup (a connector operation)",
            )

    def check_policy_name(self, path: SpecPath, reference: str) -> None:
        name = reference.removeprefix("policy.")
        if name not in self.policy_names:
            hint = _suggestion(name, self.policy_names, "policy figure")
            self.fail(
                path, f"policy.{name} is not a policy figure in policy.yaml; {hint}"
            )

    def check_expression(self, path: SpecPath, text: str, scope: _Scope) -> None:
        try:
            references = compile_expression(text).references
        except ExpressionError as error:
            self.fail(path, f"the expression {text!r} is invalid: {error}")
            return
        readable = scope.readable()
        for name in sorted(references.names - readable):
            if name in self.tables:
                hint = f"read a column of it as {name}.FIELD, as in sum({name}.amount)"
                message = f"{name!r} is a row table, not a field; {hint}"
            else:
                hint = _suggestion(name, readable, "field")
                message = (
                    f"the expression reads {name!r}, which is not a field here; {hint}"
                )
            self.fail(path, message)
        for name in sorted(references.policy):
            self.check_policy_name(path, name)
        for table, column in sorted(references.columns):
            self.check_column(path, table, column)

    def check_column(self, path: SpecPath, table: str, column: str) -> None:
        if table not in self.tables:
            hint = _suggestion(table, self.tables, "row table")
            self.fail(
                path,
                f"{table}.{column} reads {table!r}, which is not a row table; {hint}",
            )
        elif column not in self.tables[table].fields:
            hint = _suggestion(column, self.tables[table].fields, "field")
            self.fail(
                path,
                f"{table}.{column}: the row table {table!r} has no field "
                f"{column!r}; {hint}",
            )

    # Lookups and calculations

    def check_lookups(self, scope: _Scope, section: dict[str, Any]) -> None:
        where = self.where(scope)
        for index, lookup in enumerate(section.get("lookups", [])):
            path = scope.path + ("lookups", index)
            trigger = lookup.get("trigger")
            if trigger is not None and trigger not in scope.fields:
                hint = _suggestion(trigger, scope.fields, "field")
                self.fail(
                    path + ("trigger",),
                    f"the trigger {trigger!r} is not a field {where}; {hint}",
                )
            for target in lookup["fill"]:
                if target not in scope.fields:
                    hint = _suggestion(target, scope.fields, "field")
                    message = (
                        f"fill names {target!r}, which is not a field {where}; {hint}"
                    )
                    self.fail(path + ("fill", target), message, key=True)
            for parameter, source in lookup.get("params", {}).items():
                if source not in scope.fields:
                    hint = _suggestion(source, scope.fields, "field")
                    message = (
                        f"the parameter reads {source!r}, which is not a field "
                        f"{where}; {hint}"
                    )
                    self.fail(path + ("params", parameter), message)

    def check_calculations(self, scope: _Scope, section: dict[str, Any]) -> None:
        for index, calculation in enumerate(section.get("calculations", [])):
            path = scope.path + ("calculations", index)
            self.check_target(scope, calculation["target"], path + ("target",))
            self.check_expression(
                path + ("expression",), calculation["expression"], scope
            )
            places = calculation.get("places")
            if isinstance(places, str):
                self.check_policy_name(path + ("places",), places)

    def check_target(self, scope: _Scope, target: str, path: SpecPath) -> None:
        if target not in scope.fields:
            hint = _suggestion(target, scope.fields, "field")
            self.fail(
                path,
                f"the target {target!r} is not a field {self.where(scope)}; {hint}",
            )
        elif scope.fields[target].get("read-only") is not True:
            field_path = format_path(scope.field_paths[target])
            self.fail(
                path,
                f"the field {target!r} is calculated, so people must not type "
                f"into it; add read-only: true to {field_path}",
            )

    # Service kind and sections

    def check_kind(self) -> None:
        kind = self.spec["kind"]
        needed = {
            "apply": "submit",
            "query": "result",
            "calc": "result",
            "print": "print",
        }
        section = needed.get(kind)
        if section is not None and section not in self.spec:
            self.fail(
                ("kind",),
                f"a service of kind {kind} needs a {section} section; "
                f"add {section}: with its operation",
            )

    def check_result(self) -> None:
        result = self.spec.get("result", {})
        if "card" in result:
            columns = _named(result["card"], ("result", "card"), "name")
            self.require_unique(columns, "column name")
        table = result.get("table")
        if table is None:
            return
        columns = _named(table["columns"], ("result", "table", "columns"), "name")
        self.require_unique(columns, "column name")
        names = [column["name"] for column in table["columns"]]
        if "sort" in table and table["sort"] not in names:
            hint = _suggestion(table["sort"], names, "column")
            self.fail(
                ("result", "table", "sort"),
                f"sort names {table['sort']!r}, which is not a column of the "
                f"table; {hint}",
            )

    def check_steps(self) -> None:
        names = set(self.top.fields) | set(self.tables)
        first_step: dict[str, str] = {}
        for index, step in enumerate(self.spec.get("steps", [])):
            for position, name in enumerate(step["fields"]):
                path = ("steps", index, "fields", position)
                if name not in names:
                    hint = _suggestion(name, names, "field")
                    message = (
                        f"{name!r} is not a field or row table of this form; {hint}"
                    )
                    self.fail(path, message)
                elif name in first_step:
                    message = (
                        f"{name!r} is already shown in the step "
                        f"{first_step[name]!r}; list it in one step only"
                    )
                    self.fail(path, message)
                else:
                    first_step[name] = step["name"]

    def check_prefill(self) -> None:
        for scope, table in self.sections[1:]:
            prefill = table.get("prefill")
            if prefill is None:
                continue
            path = scope.path + ("prefill",)
            where = self.where(scope)
            if prefill["key"] not in scope.fields:
                hint = _suggestion(prefill["key"], scope.fields, "field")
                self.fail(
                    path + ("key",),
                    f"the key {prefill['key']!r} is not a field {where}; {hint}",
                )
            for target in prefill.get("fill", {}):
                if target not in scope.fields:
                    hint = _suggestion(target, scope.fields, "field")
                    message = (
                        f"fill names {target!r}, which is not a field {where}; {hint}"
                    )
                    self.fail(path + ("fill", target), message, key=True)

    def check_operations(self) -> None:
        if self.known_operations is None:
            return
        for path, operation in self.operations():
            if operation not in self.known_operations:
                hint = _suggestion(
                    operation, self.known_operations, "connector operation"
                )
                self.fail(
                    path, f"{operation!r} is not a known connector operation; {hint}"
                )

    def operations(self) -> Iterator[tuple[SpecPath, str]]:
        """Yield every connector operation the spec names, with its path."""
        for section in ("submit", "result", "print"):
            if section in self.spec:
                yield (section, "operation"), self.spec[section]["operation"]
        if "check" in self.spec.get("verification", {}):
            yield ("verification", "check"), self.spec["verification"]["check"]
        for scope, section in self.sections:
            for index, lookup in enumerate(section.get("lookups", [])):
                yield scope.path + ("lookups", index, "operation"), lookup["operation"]
            for name, field in scope.fields.items():
                if "choices-lookup" in field:
                    yield (
                        scope.field_paths[name] + ("choices-lookup",),
                        field["choices-lookup"],
                    )
            if "prefill" in section:
                yield (
                    scope.path + ("prefill", "operation"),
                    section["prefill"]["operation"],
                )
