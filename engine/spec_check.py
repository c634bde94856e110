"""Check spec files against the meta-schema and the rules that tie a spec together."""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import jsonschema

import engine
from engine import spec_errors
from engine.expressions import FUNCTIONS, ExpressionError, compile_expression
from engine.service import AttachmentKind
from engine.spec_errors import did_you_mean
from engine.spec_loader import LoadedYaml, SpecError, SpecPath, format_path, load_yaml
from renderers.pdf import TEMPLATES as PRINT_TEMPLATES

__all__ = [
    "CheckReport",
    "SpecCheckFailed",
    "SpecError",
    "check_file",
    "check_specs",
    "load_specs",
    "meta_schema",
    "spec_paths",
]

SCHEMA_PATH = Path(engine.__file__).parent / "schemas" / "spec.schema.json"
HALLS = ("unit", "person")

# A problem found by a check: where it is, whether it is about the key at that path
# rather than its value, its catalogue code and the message.
Finding = tuple[SpecPath, bool, str, str]

# What the engine allows for an attachment kind that states no limit.
ATTACHMENT_DEFAULTS = {
    "max-size-kb": f"{AttachmentKind.max_size_kb} KB a file",
    "max-count": f"{AttachmentKind.max_count} files",
}


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


@dataclass
class CheckReport:
    """What checking many spec files found: the specs that load, errors, warnings."""

    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[SpecError] = field(default_factory=list)
    warnings: list[SpecError] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def check_file(
    path: Path, *, policy_names: set[str], known_operations: set[str] | None = None
) -> tuple[dict[str, Any] | None, list[SpecError]]:
    """Check one spec file and return its data with every error found, sorted by line.

    The data is None unless the file has no error at all, so a caller cannot use half
    of a broken spec by mistake. Warnings are left out; `check_specs` returns them.
    """
    loaded, findings = _check_loaded(path, policy_names, known_operations)
    errors = [finding for finding in findings if not finding.is_warning]
    if errors or not isinstance(loaded.data, dict):
        return None, errors
    return loaded.data, errors


def check_specs(
    paths: Iterable[Path],
    *,
    policy_names: set[str],
    known_operations: set[str] | None = None,
) -> CheckReport:
    """Check many spec files; return the specs without errors by id, and all findings.

    Besides the findings of each file, an id given in two files is an error of the
    second file. A menu title used twice in one hall is an error of both files,
    because either of them may be the one to change.
    """
    checked: list[tuple[Path, LoadedYaml, list[SpecError]]] = []
    first_files: dict[str, str] = {}
    for path in paths:
        loaded, findings = _check_loaded(path, policy_names, known_operations)
        spec_id = _spec_id(loaded)
        if spec_id is not None and spec_id in first_files:
            other = first_files[spec_id]
            text = spec_errors.message("E204", spec_id=spec_id, other=other)
            findings.append(loaded.error(("id",), text, code="E204"))
        elif spec_id is not None:
            first_files[spec_id] = loaded.file
        checked.append((path, loaded, findings))
    _check_menu(checked)

    report = CheckReport()
    for path, loaded, findings in checked:
        errors = [finding for finding in findings if not finding.is_warning]
        spec_id = _spec_id(loaded)
        if not errors and spec_id is not None:
            report.specs[spec_id] = loaded.data
            report.files[spec_id] = path
        report.errors.extend(errors)
        report.warnings.extend(finding for finding in findings if finding.is_warning)
    return report


def _spec_id(loaded: LoadedYaml) -> str | None:
    data = loaded.data
    spec_id = data.get("id") if isinstance(data, dict) else None
    return spec_id if isinstance(spec_id, str) else None


def _check_menu(checked: list[tuple[Path, LoadedYaml, list[SpecError]]]) -> None:
    """Add a finding to each spec whose menu title or place another spec shares."""
    titles: dict[tuple[str, str], list[int]] = {}
    places: dict[tuple[str, str, int], list[int]] = {}
    seen: set[str] = set()
    for number, (_, loaded, _) in enumerate(checked):
        data, spec_id = loaded.data, _spec_id(loaded)
        # A second file with the same id already has its error, so it takes no place.
        if spec_id is None or spec_id in seen or not isinstance(data, dict):
            continue
        seen.add(spec_id)
        hall, title, menu = data.get("hall"), data.get("title"), data.get("menu")
        if isinstance(hall, str) and isinstance(title, str):
            titles.setdefault((hall, title), []).append(number)
            if isinstance(menu, dict) and isinstance(menu.get("order"), int):
                place = (hall, str(menu.get("group")), menu["order"])
                places.setdefault(place, []).append(number)
    for (hall, title), numbers in titles.items():
        for number, others in _sharing(checked, numbers):
            loaded, findings = checked[number][1], checked[number][2]
            text = spec_errors.message("E206", title=title, hall=hall, other=others)
            findings.append(loaded.error(("title",), text, code="E206"))
    for (_, group, order), numbers in places.items():
        for number, others in _sharing(checked, numbers):
            loaded, findings = checked[number][1], checked[number][2]
            text = spec_errors.message("W603", other=others, group=group, order=order)
            findings.append(loaded.error(("menu", "order"), text, code="W603"))


def _sharing(
    checked: list[tuple[Path, LoadedYaml, list[SpecError]]], numbers: list[int]
) -> Iterator[tuple[int, str]]:
    """Pair each spec that shares a menu entry with the ids of the others."""
    if len(numbers) < 2:
        return
    for number in numbers:
        others = [_spec_id(checked[other][1]) for other in numbers if other != number]
        yield number, ", ".join(str(other) for other in others)


def load_specs(
    paths: Iterable[Path],
    *,
    policy_names: set[str],
    known_operations: set[str] | None = None,
) -> tuple[dict[str, dict[str, Any]], list[SpecError]]:
    """Check many spec files and return the error-free specs by id, and all errors."""
    report = check_specs(
        paths, policy_names=policy_names, known_operations=known_operations
    )
    return report.specs, report.errors


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
    for spec_path, key, code, text in _schema_findings(schema_errors):
        error = loaded.error(spec_path, text, key=key, code=code)
        # A YAML surprise already explains the wrong value at this path, but not
        # an unknown or invalid key.
        if key or error.path not in reported_paths:
            errors.append(error)
    if isinstance(loaded.data, dict):
        rules = _SpecRules(loaded.data, path, policy_names, known_operations)
        schema_paths = {error.path for error in errors}
        for spec_path, key, code, text in rules.run(tolerant=bool(schema_errors)):
            error = loaded.error(spec_path, text, key=key, code=code)
            # Where the meta-schema already found the value wrong, say it once.
            if error.path not in schema_paths:
                errors.append(error)
    return loaded, _sorted_unique(errors)


def _sorted_unique(errors: list[SpecError]) -> list[SpecError]:
    unique = dict.fromkeys(errors)
    return sorted(unique, key=lambda e: (e.line, e.column, e.path, e.code, e.message))


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


def _finding(
    path: SpecPath, code: str, *, at_key: bool = False, **params: Any
) -> Finding:
    return path, at_key, code, spec_errors.message(code, **params)


def _describe(error: jsonschema.ValidationError) -> Iterator[Finding]:
    """Turn one jsonschema error into findings, each naming what to write instead."""
    path: SpecPath = tuple(error.absolute_path)
    keyword = error.validator
    if "propertyNames" in error.schema_path:
        key = error.instance
        expectation = _expectation(error.schema, error)
        yield _finding(
            path + (key,), "E107", at_key=True, key=key, expectation=expectation
        )
    elif keyword == "additionalProperties":
        yield from _unknown_keys(error, path)
    elif keyword == "required":
        yield from _missing_keys(error, path)
    elif keyword == "type":
        yield _type_finding(error, path)
    elif keyword == "enum":
        yield _enum_finding(error, path)
    elif keyword in {"pattern", "oneOf", "anyOf"}:
        shown = _show(error.instance)
        expectation = _expectation(error.schema, error)
        yield _finding(path, "E106", shown=shown, expectation=expectation)
    else:
        yield _limit_finding(error, path)


def _unknown_keys(
    error: jsonschema.ValidationError, path: SpecPath
) -> Iterator[Finding]:
    allowed = sorted(error.schema.get("properties", {}))
    for key in error.instance:
        if key in allowed:
            continue
        hint = did_you_mean(key, allowed, "key")
        if not hint.startswith("did you mean"):
            hint = "the keys allowed here are: " + ", ".join(allowed)
        yield _finding(path + (key,), "E101", at_key=True, key=key, hint=hint)


def _missing_keys(
    error: jsonschema.ValidationError, path: SpecPath
) -> Iterator[Finding]:
    for key in error.validator_value:
        if key in error.instance:
            continue
        description = error.schema.get("properties", {}).get(key, {}).get("description")
        shown = f" ({description})" if description else ""
        yield _finding(path, "E102", key=key, description=shown)


def _type_finding(error: jsonschema.ValidationError, path: SpecPath) -> Finding:
    declared = error.validator_value
    names = [declared] if isinstance(declared, str) else list(declared)
    expected = " or ".join(_TYPE_WORDS.get(name, name) for name in names)
    if error.instance is None:
        return _finding(path, "E104", expected=expected)
    quote_hint = ""
    if "string" in names and not isinstance(error.instance, (dict, list)):
        quote_hint = f"; write '{_plain(error.instance)}' in quotes if it is text"
    shown = _show(error.instance)
    return _finding(path, "E103", expected=expected, shown=shown, quote_hint=quote_hint)


def _enum_finding(error: jsonschema.ValidationError, path: SpecPath) -> Finding:
    options = [str(option) for option in error.validator_value]
    noun = error.schema.get("description", "an allowed value")
    hint = did_you_mean(str(error.instance), options, noun)
    closest = f"; {hint}" if hint.startswith("did you mean") else ""
    return _finding(
        path,
        "E105",
        shown=_show(error.instance),
        noun=noun,
        options=", ".join(options),
        closest=closest,
    )


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
            return _limit_finding(branch_error, ())[3]
    return "the value does not have any of the allowed forms"


def _limit_finding(error: jsonschema.ValidationError, path: SpecPath) -> Finding:
    keyword, limit, value = error.validator, error.validator_value, error.instance
    if keyword == "minLength":
        return _finding(path, "E108")
    if keyword == "maxLength":
        return _finding(path, "E109", length=len(value), limit=limit)
    if keyword == "minimum":
        return _finding(path, "E110", value=value, limit=limit)
    if keyword == "maximum":
        return _finding(path, "E111", value=value, limit=limit)
    if keyword == "minItems":
        return _finding(path, "E112", count=len(value), limit=limit)
    if keyword == "minProperties":
        return _finding(path, "E113", limit=limit)
    if keyword == "uniqueItems":
        repeated = sorted({str(item) for item in value if value.count(item) > 1})
        return _finding(path, "E114", repeated=", ".join(repeated))
    return _finding(path, "E119", detail=error.message)


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

# Where print templates live, and the names the print page passes to every template
# besides the spec's own fields. The template check runs only when the folder exists.
PRINT_PAGE_NAMES = frozenset(
    {
        "data",
        "title",
        "code",
        "centre_name",
        "issued_on",
        "verify_url",
        "valid_days",
        "seal_image",
        "qr_data_uri",
        "service",
    }
)


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
    for index, item in enumerate(fields):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        by_name.setdefault(item["name"], item)
        paths.setdefault(item["name"], path + ("fields", index))
    return _Scope(path, by_name, paths, outer)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _named(
    items: list[dict[str, Any]], path: SpecPath, key: str
) -> list[tuple[SpecPath, str]]:
    """Pair the `key` of each item in a list with the path where it is written."""
    return [(path + (index, key), item[key]) for index, item in enumerate(items)]


# The earlier name of did_you_mean, kept for rules written against it.
_suggestion = did_you_mean


def _unknown_functions(text: str) -> list[str]:
    """Return the functions an expression calls that the language does not have."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return []
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    return sorted(called - set(FUNCTIONS))


# A calculated value: the index of its section (0 for the top level, 1 for the first
# row table, ...) and its field name.
_Node = tuple[int, str]


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
        self.top = _scope((), _list(spec.get("fields")), None)
        # Each scope goes with the section that contains its lookups and calculations.
        self.sections: list[tuple[_Scope, dict[str, Any]]] = [(self.top, spec)]
        self.tables: dict[str, _Scope] = {}
        for index, table in enumerate(_list(spec.get("rows"))):
            if not isinstance(table, dict):
                continue
            scope = _scope(("rows", index), _list(table.get("fields")), self.top)
            self.sections.append((scope, table))
            if isinstance(table.get("name"), str):
                self.tables.setdefault(table["name"], scope)

    def run(self, *, tolerant: bool = False) -> list[Finding]:
        """Apply every rule; with `tolerant`, skip a rule that meets malformed data.

        A spec with schema errors is checked tolerantly, so that its other mistakes
        are reported in the same run.
        """
        steps: list[Callable[[], None]] = [self.check_identity, self.check_unique_names]
        for scope, _section in self.sections:
            for name, spec_field in scope.fields.items():
                path = scope.field_paths[name]
                steps.append(
                    functools.partial(self.check_field, scope, spec_field, path)
                )
        for scope, section in self.sections:
            steps.append(functools.partial(self.check_lookups, scope, section))
            steps.append(functools.partial(self.check_calculations, scope, section))
        steps += [
            self.check_cycles,
            self.check_kind,
            self.check_print,
            self.check_result,
            self.check_steps,
            self.check_prefill,
            self.check_imports,
            self.check_operations,
            self.check_attachments,
            self.check_print_template,
        ]
        for step in steps:
            try:
                step()
            except (KeyError, TypeError, AttributeError, IndexError, ValueError):
                # The meta-schema check has reported what this rule could not read.
                if not tolerant:
                    raise
        return self.findings

    def report(
        self, code: str, path: SpecPath, *, at_key: bool = False, **params: Any
    ) -> None:
        """Record the finding `code` of the catalogue at `path`."""
        text = spec_errors.message(code, **params)
        self.findings.append((path, at_key, code, text))

    def fail(
        self, path: SpecPath, text: str, *, key: bool = False, code: str = "E599"
    ) -> None:
        """Record a finding whose message is written out rather than catalogued."""
        self.findings.append((path, key, code, spec_errors.message(code, detail=text)))

    def where(self, scope: _Scope) -> str:
        if scope is self.top:
            return "at the top level of the form"
        return f"in the row table {self.spec['rows'][scope.path[1]]['name']!r}"

    # Identity and names

    def check_identity(self) -> None:
        spec_id, hall = self.spec["id"], self.spec["hall"]
        stem = self.file_path.name.removesuffix(".yaml")
        if spec_id != stem:
            self.report(
                "E201",
                ("id",),
                spec_id=spec_id,
                file_name=self.file_path.name,
                stem=stem,
            )
        # The id prefix is checked only when the hall agrees with the folder, so that
        # one wrong hall gives one error.
        folder = self.file_path.parent.name
        if folder in HALLS and hall != folder:
            self.report("E202", ("hall",), hall=hall, folder=folder)
        elif not spec_id.startswith(f"{hall}-"):
            rest = spec_id.partition("-")[2] or "name"
            self.report("E203", ("id",), hall=hall, rest=rest)

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
                where = format_path(first[name])
                self.report("E205", path, noun=noun, name=name, first=where)
            else:
                first[name] = path

    # Fields

    def check_field(
        self, scope: _Scope, spec_field: dict[str, Any], path: SpecPath
    ) -> None:
        self.check_choices(spec_field, path)
        checks = spec_field.get("checks", {})
        for bound in ("min", "max"):
            value = checks.get(bound)
            if isinstance(value, str) and value.startswith("policy."):
                self.check_policy_name(path + ("checks", bound), value)
        if "visible-when" in spec_field:
            self.check_expression(
                path + ("visible-when",),
                spec_field["visible-when"],
                scope,
                unknown_code="E311",
            )
        if "default-expression" in spec_field:
            self.check_expression(
                path + ("default-expression",), spec_field["default-expression"], scope
            )
        if spec_field["type"] == "file":
            missing = [key for key in ("types", "max-size-kb") if key not in spec_field]
            if missing:
                self.report(
                    "W602",
                    path,
                    name=spec_field["name"],
                    missing=" or ".join(missing),
                    keys=" and ".join(f"{key}: ..." for key in missing),
                )

    def check_choices(self, spec_field: dict[str, Any], path: SpecPath) -> None:
        given = [key for key in ("choices", "choices-lookup") if key in spec_field]
        if spec_field["type"] != "choice":
            for key in given:
                self.report("E301", path + (key,), at_key=True, key=key)
        elif len(given) == 2:
            self.report("E302", path + ("choices-lookup",), at_key=True)
        elif not given:
            self.report("E303", path, name=spec_field["name"])

    def check_policy_name(self, path: SpecPath, reference: str) -> None:
        name = reference.removeprefix("policy.")
        if name not in self.policy_names:
            hint = did_you_mean(name, self.policy_names, "policy figure")
            self.report("E304", path, name=name, hint=hint)

    def check_expression(
        self, path: SpecPath, text: str, scope: _Scope, unknown_code: str = "E307"
    ) -> None:
        try:
            references = compile_expression(text).references
        except ExpressionError as error:
            unknown = _unknown_functions(text)
            for name in unknown:
                hint = did_you_mean(name, FUNCTIONS, "function")
                self.report("E306", path, name=name, hint=hint)
            if not unknown:
                self.report("E305", path, text=text, problem=error)
            return
        readable = scope.readable()
        for name in sorted(references.names - readable):
            if name in self.tables:
                self.report("E308", path, name=name)
            else:
                hint = did_you_mean(name, readable, "field")
                self.report(unknown_code, path, name=name, hint=hint)
        for name in sorted(references.policy):
            self.check_policy_name(path, name)
        for table, column in sorted(references.columns):
            self.check_column(path, table, column)

    def check_column(self, path: SpecPath, table: str, column: str) -> None:
        if table not in self.tables:
            hint = did_you_mean(table, self.tables, "row table")
            self.report("E309", path, table=table, column=column, hint=hint)
        elif column not in self.tables[table].fields:
            hint = did_you_mean(column, self.tables[table].fields, "field")
            self.report("E310", path, table=table, column=column, hint=hint)

    # Lookups and calculations

    def check_lookups(self, scope: _Scope, section: dict[str, Any]) -> None:
        for index, lookup in enumerate(section.get("lookups", [])):
            path = scope.path + ("lookups", index)
            trigger = lookup.get("trigger")
            if trigger is not None:
                self.require_field("E401", path + ("trigger",), trigger, scope)
            for target in lookup["fill"]:
                self.require_field(
                    "E402", path + ("fill", target), target, scope, at_key=True
                )
            # A row lookup may pass top-level fields as well as the row's own.
            readable = scope.readable()
            for parameter, source in lookup.get("params", {}).items():
                if source not in readable:
                    hint = did_you_mean(source, readable, "field")
                    where = self.where(scope)
                    parameter_path = path + ("params", parameter)
                    self.report(
                        "E403", parameter_path, name=source, where=where, hint=hint
                    )

    def require_field(
        self,
        code: str,
        path: SpecPath,
        name: str,
        scope: _Scope,
        *,
        at_key: bool = False,
    ) -> None:
        """Report `code` at `path` unless `name` is a field of `scope`."""
        if name not in scope.fields:
            hint = did_you_mean(name, scope.fields, "field")
            where = self.where(scope)
            self.report(code, path, at_key=at_key, name=name, where=where, hint=hint)

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
            self.require_field("E313", path, target, scope)
        elif scope.fields[target].get("read-only") is not True:
            field_path = format_path(scope.field_paths[target])
            self.report("E314", path, name=target, field_path=field_path)

    def check_cycles(self) -> None:
        """Report calculations that need each other's results, directly or not."""
        graph, paths = self.calculation_graph()
        reported: set[_Node] = set()
        for start in paths:
            if start in reported:
                continue
            cycle = _cycle_from(start, graph)
            if cycle is None:
                continue
            reported.update(cycle)
            shown = " → ".join(self.node_name(node) for node in cycle + [cycle[0]])
            self.report("E312", paths[start], cycle=shown)

    def calculation_graph(
        self,
    ) -> tuple[dict[_Node, set[_Node]], dict[_Node, SpecPath]]:
        """Map each calculated field to the calculated fields its expression reads."""
        graph: dict[_Node, set[_Node]] = {}
        paths: dict[_Node, SpecPath] = {}
        table_index = {
            table["name"]: number
            for number, table in enumerate(self.spec.get("rows", []), start=1)
        }
        for number, (scope, section) in enumerate(self.sections):
            for index, calculation in enumerate(section.get("calculations", [])):
                try:
                    references = compile_expression(
                        calculation["expression"]
                    ).references
                except ExpressionError:
                    continue
                node = (number, calculation["target"])
                paths.setdefault(
                    node, scope.path + ("calculations", index, "expression")
                )
                reads = graph.setdefault(node, set())
                for name in references.names:
                    reads.add((number, name) if name in scope.fields else (0, name))
                for table, column in references.columns:
                    if table in table_index:
                        reads.add((table_index[table], column))
        return graph, paths

    def node_name(self, node: _Node) -> str:
        number, name = node
        if number == 0:
            return name
        return f"{self.spec['rows'][number - 1]['name']}.{name}"

    # Service kind and sections

    def check_kind(self) -> None:
        kind = self.spec["kind"]
        needed = {
            "apply": "submit",
            "query": "result",
            "calc": "result",
            "print": "print",
            "account": "submit",
        }
        section = needed.get(kind)
        if section is not None and section not in self.spec:
            self.report("E501", ("kind",), kind=kind, section=section)

    def check_print(self) -> None:
        section = self.spec.get("print")
        if section is None:
            return
        if self.spec["kind"] != "print":
            self.fail(
                ("print",),
                f"only a service of kind print takes a print section, but the kind "
                f"is {self.spec['kind']}; remove print: or write kind: print",
                key=True,
            )
        facts = _named(section.get("facts", []), ("print", "facts"), "name")
        self.require_unique(facts, "fact name")

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
        if "filter" in table:
            columns = {name: {"name": name} for name in names}
            scope = _Scope((), {**self.top.fields, **columns}, {})
            path = ("result", "table", "filter")
            self.check_expression(path, table["filter"], scope, unknown_code="E315")
        if "sort" in table and table["sort"] not in names:
            hint = did_you_mean(table["sort"], names, "column")
            self.report(
                "E502", ("result", "table", "sort"), name=table["sort"], hint=hint
            )

    def check_steps(self) -> None:
        names = set(self.top.fields) | set(self.tables)
        first_step: dict[str, str] = {}
        for index, step in enumerate(self.spec.get("steps", [])):
            for position, name in enumerate(step["fields"]):
                path = ("steps", index, "fields", position)
                if name not in names:
                    hint = did_you_mean(name, names, "field")
                    self.report("E503", path, name=name, hint=hint)
                elif name in first_step:
                    self.report("E504", path, name=name, step=first_step[name])
                else:
                    first_step[name] = step["name"]

    def check_prefill(self) -> None:
        for scope, table in self.sections[1:]:
            prefill = table.get("prefill")
            if prefill is None:
                continue
            path = scope.path + ("prefill",)
            self.require_field("E405", path + ("key",), prefill["key"], scope)
            for target in prefill.get("fill", {}):
                self.require_field(
                    "E402", path + ("fill", target), target, scope, at_key=True
                )

    def check_imports(self) -> None:
        for scope, table in self.sections[1:]:
            spec = table.get("import")
            if spec is None:
                continue
            path = scope.path + ("import",)
            columns = spec["columns"]
            reference = spec.get("reference-columns", [])
            key = spec["key"]
            groups = (("columns", columns), ("reference-columns", reference))
            for group, names in groups:
                for index, name in enumerate(names):
                    self.check_import_column(
                        scope, table, path + (group, index), name, group, key
                    )
            for index, name in enumerate(reference):
                if name in columns:
                    self.report("E417", path + ("reference-columns", index), name=name)
            if key not in columns:
                self.report("E412", path + ("key",), key=key)
            prefill = table.get("prefill")
            if prefill is None:
                self.report("E413", path, table=table["name"], at_key=True)
            elif prefill["key"] != key:
                self.report(
                    "E414", path + ("key",), key=key, prefill_key=prefill["key"]
                )

    def check_import_column(
        self,
        scope: _Scope,
        table: dict[str, Any],
        path: SpecPath,
        name: str,
        group: str,
        key: str,
    ) -> None:
        """Report a column that is no field, or whose read-only flag does not fit."""
        spec_field = scope.fields.get(name)
        if spec_field is None:
            hint = did_you_mean(name, scope.fields, "field")
            self.report("E411", path, name=name, table=table["name"], hint=hint)
            return
        read_only = bool(spec_field.get("read-only"))
        if group == "columns" and read_only and name != key:
            self.report("E415", path, name=name)
        elif group == "reference-columns" and not read_only:
            self.report("E416", path, name=name)

    def check_operations(self) -> None:
        if self.known_operations is None:
            return
        for path, operation in self.operations():
            if operation not in self.known_operations:
                hint = did_you_mean(
                    operation, self.known_operations, "connector operation"
                )
                self.report("E404", path, name=operation, hint=hint)

    def operations(self) -> Iterator[tuple[SpecPath, str]]:
        """Yield every connector operation the spec names, with its path."""
        for section in ("submit", "result", "print"):
            if isinstance(self.spec.get(section), dict):
                operation = self.spec[section].get("operation")
                if isinstance(operation, str):
                    yield (section, "operation"), operation
        verification = self.spec.get("verification")
        if isinstance(verification, dict) and isinstance(
            verification.get("check"), str
        ):
            yield ("verification", "check"), verification["check"]
        for scope, section in self.sections:
            for index, lookup in enumerate(section.get("lookups", [])):
                yield scope.path + ("lookups", index, "operation"), lookup["operation"]
            for name, spec_field in scope.fields.items():
                if "choices-lookup" in spec_field:
                    yield (
                        scope.field_paths[name] + ("choices-lookup",),
                        spec_field["choices-lookup"],
                    )
            if "prefill" in section:
                yield (
                    scope.path + ("prefill", "operation"),
                    section["prefill"]["operation"],
                )

    # Attachments and print templates

    def check_attachments(self) -> None:
        for index, attachment in enumerate(self.spec.get("attachments", [])):
            missing = [key for key in ATTACHMENT_DEFAULTS if key not in attachment]
            if not missing:
                continue
            self.report(
                "W601",
                ("attachments", index),
                kind=attachment["kind"],
                missing=" or ".join(missing),
                defaults=" and ".join(ATTACHMENT_DEFAULTS[key] for key in missing),
                keys=" and ".join(f"{key}: ..." for key in missing),
            )

    def check_print_template(self) -> None:
        section = self.spec.get("print")
        template = section.get("template") if isinstance(section, dict) else None
        if not isinstance(template, str) or not PRINT_TEMPLATES.is_dir():
            return
        path = ("print", "template")
        if not (PRINT_TEMPLATES / template).is_file():
            found = [item.name for item in PRINT_TEMPLATES.glob("[!_]*.html")]
            hint = did_you_mean(template, found, "print template")
            folder = display_name(PRINT_TEMPLATES)
            self.report("E505", path, name=template, folder=folder, hint=hint)
            return
        try:
            used = _template_names(PRINT_TEMPLATES, template)
        except (OSError, UnicodeDecodeError, jinja2.TemplateError) as error:
            self.report("E507", path, template=template, problem=error)
            return
        provided = PRINT_PAGE_NAMES | set(self.top.fields)
        for name in sorted(used - provided):
            hint = did_you_mean(name, provided, "name")
            self.report("E506", path, template=template, name=name, hint=hint)
        # The verification page counts the validity that the paper states, so the
        # spec declares it exactly when the template prints it.
        declared = "valid_days" in section
        if declared and "valid_days" not in used:
            self.report("E508", ("print", "valid_days"), template=template)
        elif "valid_days" in used and not declared:
            self.report("E509", path, template=template)


def _cycle_from(start: _Node, graph: dict[_Node, set[_Node]]) -> list[_Node] | None:
    """Return a list of calculated fields leading from `start` back to it, if any."""
    trail: list[_Node] = []
    seen: set[_Node] = set()

    def visit(node: _Node) -> bool:
        for following in sorted(graph.get(node, ())):
            if following == start:
                return True
            if following in seen or following not in graph:
                continue
            seen.add(following)
            trail.append(following)
            if visit(following):
                return True
            trail.pop()
        return False

    if visit(start):
        return [start, *trail]
    return None


def _template_names(folder: Path, name: str) -> set[str]:
    """Return the names a Jinja template and the templates it builds on read."""
    from renderers.pdf.filters import PRINT_FILTERS, PRINT_GLOBALS

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(folder))
    environment.filters.update(PRINT_FILTERS)
    environment.globals.update(PRINT_GLOBALS)
    used: set[str] = set()
    pending, done = [name], set()
    while pending:
        current = pending.pop()
        if current in done:
            continue
        done.add(current)
        source = (folder / current).read_text(encoding="utf-8")
        tree = environment.parse(source)
        used |= jinja2.meta.find_undeclared_variables(tree)
        for referenced in jinja2.meta.find_referenced_templates(tree):
            if isinstance(referenced, str) and (folder / referenced).is_file():
                pending.append(referenced)
    return used
