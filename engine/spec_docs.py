"""Generate the spec reference, docs/specs.md, from the meta-schema and its notes.

Every key comes from the meta-schema, so a key added there shows up in the reference
at the next `hall specs docs`; a test fails while the committed page differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import engine
from engine.expressions import FUNCTIONS
from engine.spec_check import meta_schema
from engine.spec_errors import CATALOGUE

REPO = Path(engine.__file__).resolve().parent.parent
REFERENCE = REPO / "docs" / "specs.md"
NOTES = REPO / "docs" / "spec-notes.yaml"

TOP = "top level"

_TYPE_WORDS = {
    "string": "text",
    "integer": "whole number",
    "number": "number",
    "boolean": "true or false",
    "object": "mapping",
    "array": "list",
}


@dataclass
class Section:
    """One mapping of the spec: where it is used and the schema of its keys."""

    name: str
    schema: dict[str, Any]
    used_at: list[str] = field(default_factory=list)


def load_notes(path: Path = NOTES) -> dict[str, Any]:
    """Read the notes and examples that go with the meta-schema."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def sections(schema: dict[str, Any]) -> list[Section]:
    """Return every mapping the meta-schema describes, in the order they are met."""
    found: dict[str, Section] = {TOP: Section(TOP, schema)}
    _visit(schema, TOP, "", found)
    return list(found.values())


def _visit(
    schema: dict[str, Any], name: str, spec_path: str, found: dict[str, Section]
) -> None:
    for key, child in schema.get("properties", {}).items():
        child_path = f"{spec_path}.{key}" if spec_path else key
        child_name = key if name == TOP else f"{name}.{key}"
        if child.get("type") == "array" and isinstance(child.get("items"), dict):
            child, child_name, child_path = (
                child["items"],
                child_name + "[]",
                child_path + "[]",
            )
        _add(child, child_name, child_path, found)


def _add(
    schema: dict[str, Any], name: str, spec_path: str, found: dict[str, Section]
) -> None:
    if "$ref" in schema:
        name = _definition_name(schema)
        schema = meta_schema()["$defs"][name]
    if "properties" not in schema:
        return
    if name in found:
        found[name].used_at.append(spec_path)
        return
    found[name] = Section(name, schema, [spec_path])
    _visit(schema, name, spec_path, found)


def _definition_name(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).removeprefix("#/$defs/")


def anchor(name: str) -> str:
    return "section-" + name.replace(" ", "-").replace(".", "-").replace("[]", "")


def describe(schema: dict[str, Any]) -> str:
    """Describe in words what a value of `schema` may be."""
    if "$ref" in schema:
        name = _definition_name(schema)
        definition = meta_schema()["$defs"][name]
        if "properties" in definition:
            return f"mapping, see [{name}](#{anchor(name)})"
        if "description" in definition and "enum" not in definition:
            return f"{definition['description']} ({describe(definition)})"
        return describe(definition)
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    if "oneOf" in schema:
        return " or ".join(describe(branch) for branch in schema["oneOf"])
    declared = schema.get("type", "")
    if isinstance(declared, list):
        return " or ".join(_TYPE_WORDS.get(name, name) for name in declared)
    if declared == "array":
        return _describe_list(schema)
    if declared == "object" and isinstance(schema.get("additionalProperties"), dict):
        values = describe(schema["additionalProperties"])
        return f"mapping of names to {values}"
    words = _TYPE_WORDS.get(declared, declared or "any value")
    return words + _limits(schema)


def _describe_list(schema: dict[str, Any]) -> str:
    items = schema.get("items", {})
    text = "list of " + describe(items) if items else "list"
    if "minItems" in schema:
        text += f", at least {schema['minItems']}"
    if schema.get("uniqueItems"):
        text += ", each once"
    return text


def _limits(schema: dict[str, Any]) -> str:
    parts = []
    if "minimum" in schema and "maximum" in schema:
        parts.append(f"from {schema['minimum']} to {schema['maximum']}")
    elif "minimum" in schema:
        parts.append(f"at least {schema['minimum']}")
    elif "maximum" in schema:
        parts.append(f"at most {schema['maximum']}")
    if schema.get("minLength") == 1:
        parts.append("not empty")
    elif "minLength" in schema:
        parts.append(f"at least {schema['minLength']} characters")
    if "maxLength" in schema:
        parts.append(f"at most {schema['maxLength']} characters")
    if "pattern" in schema:
        parts.append(f"matching `{schema['pattern']}`")
    return (": " + ", ".join(parts)) if parts else ""


def render(notes: dict[str, Any] | None = None) -> str:
    """Return the text of docs/specs.md."""
    notes = notes if notes is not None else load_notes()
    lines = [
        "# Spec reference",
        "",
        (
            "<!-- Generated by `hall specs docs` from "
            "engine/schemas/spec.schema.json and docs/spec-notes.yaml; edit those, "
            "not this page. -->"
        ),
        "",
        (
            "A service is one YAML file, `specs/unit/ID.yaml` or "
            "`specs/person/ID.yaml`. This page lists every key the meta-schema "
            "allows, section by section, with examples that the test suite checks. "
            "`hall specs check` reports any other key with the closest allowed one."
        ),
        "",
        "Contents: "
        + ", ".join(
            f"[{section.name}](#{anchor(section.name)})"
            for section in sections(meta_schema())
        )
        + ", [expressions](#expressions), [finding codes](#finding-codes).",
        "",
    ]
    examples = notes.get("examples", [])
    for section in sections(meta_schema()):
        lines += _section_lines(section, notes.get("notes", {}))
        for example in examples:
            if example["section"] == section.name:
                lines += _example_lines(example)
    lines += _expression_lines(notes.get("functions", {}))
    lines += _code_lines()
    return "\n".join(lines).rstrip() + "\n"


def _section_lines(section: Section, notes: dict[str, str]) -> list[str]:
    lines = [f'<a id="{anchor(section.name)}"></a>', "", f"## {section.name}", ""]
    if section.name != TOP:
        places = ", ".join(f"`{place}`" for place in section.used_at)
        lines += [f"Written at {places}.", ""]
    known = {each.name for each in sections(meta_schema())}
    required = set(section.schema.get("required", []))
    lines += ["| key | required | value | meaning |", "| --- | --- | --- | --- |"]
    for key, child in section.schema.get("properties", {}).items():
        note_key = key if section.name == TOP else f"{section.name}.{key}"
        meaning = notes.get(note_key) or child.get("description", "")
        value = describe(child)
        inline = note_key + ("[]" if child.get("type") == "array" else "")
        if inline in known:
            value += f", see [{inline}](#{anchor(inline)})"
        cells = [f"`{key}`", "yes" if key in required else "", value, meaning]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    lines.append("")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _example_lines(example: dict[str, Any]) -> list[str]:
    return [
        f"Example: {example['title']} (in a service of kind {example['kind']}).",
        "",
        "```yaml",
        example["yaml"].rstrip(),
        "```",
        "",
    ]


def _expression_lines(functions: dict[str, str]) -> list[str]:
    lines = [
        '<a id="expressions"></a>',
        "",
        "## expressions",
        "",
        (
            "`calculations`, `visible-when`, `default-expression` and "
            "`result.table.filter` are expressions: arithmetic (`+ - * / **`), "
            "comparisons (`== != < <= > >= in`), `and`, `or`, `not`, `x if "
            "condition else y`, numbers, quoted text, field names, `policy.NAME` "
            "for a figure of specs/policy.yaml and `TABLE.FIELD` for a column of a "
            "row table. Numbers are exact decimals; an empty field makes the "
            "arithmetic around it empty. These functions exist:"
        ),
        "",
        "| function | what it returns |",
        "| --- | --- |",
    ]
    for name in sorted(FUNCTIONS):
        lines.append(f"| `{name}` | {_cell(functions.get(name, ''))} |")
    lines.append("")
    return lines


def _code_lines() -> list[str]:
    lines = [
        '<a id="finding-codes"></a>',
        "",
        "## finding codes",
        "",
        (
            "`hall specs check` prints each finding as `file:line:column: path: "
            "message [CODE]`. A code starting with E is an error, and the spec "
            "does not load; one starting with W is a warning, and the spec loads. "
            "Codes keep their meaning."
        ),
        "",
        "| code | name | message |",
        "| --- | --- | --- |",
    ]
    for code in sorted(CATALOGUE):
        entry = CATALOGUE[code]
        lines.append(f"| {code} | {entry.name} | {_cell(entry.template)} |")
    lines.append("")
    return lines
