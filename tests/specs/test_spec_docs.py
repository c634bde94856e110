"""Tests of the spec reference: generated from the meta-schema, examples that pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cli import known_operations, main
from engine.expressions import FUNCTIONS
from engine.spec_check import check_specs, meta_schema
from engine.spec_docs import REFERENCE, TOP, load_notes, render, sections

NOTES = load_notes()


def test_committed_reference_is_current() -> None:
    # Run `hall specs docs` after changing the meta-schema or docs/spec-notes.yaml.
    assert REFERENCE.read_text(encoding="utf-8") == render()


def test_docs_command_check() -> None:
    result = CliRunner().invoke(main, ["specs", "docs", "--check"])
    assert result.exit_code == 0, result.output
    assert result.output == f"{REFERENCE} is up to date\n"


def test_every_key_documented() -> None:
    text = render()
    for section in sections(meta_schema()):
        assert f"## {section.name}\n" in text
        for key in section.schema.get("properties", {}):
            assert f"| `{key}` |" in text


def test_notes_name_real_keys() -> None:
    keys = set()
    for section in sections(meta_schema()):
        for key in section.schema.get("properties", {}):
            keys.add(key if section.name == TOP else f"{section.name}.{key}")
    assert set(NOTES["notes"]) <= keys


def test_every_function_described() -> None:
    assert set(NOTES["functions"]) == set(FUNCTIONS)


def test_examples_name_sections() -> None:
    names = {section.name for section in sections(meta_schema())}
    assert {example["section"] for example in NOTES["examples"]} <= names


HEADER = """\
id: unit-example
version: 1
title: 示例
hall: unit
kind: {kind}
menu: {{group: 示例, order: 1}}
"""


@pytest.mark.parametrize(
    "example", NOTES["examples"], ids=[e["title"] for e in NOTES["examples"]]
)
def test_example_passes_check(
    example: dict[str, Any],
    write_spec: Callable[..., Path],
    policy_names: set[str],
) -> None:
    path = write_spec(
        HEADER.format(kind=example["kind"]) + example["yaml"], "unit-example"
    )
    report = check_specs(
        [path], policy_names=policy_names, known_operations=known_operations()
    )
    assert report.errors == []
    assert report.warnings == []
    assert list(report.specs) == ["unit-example"]
