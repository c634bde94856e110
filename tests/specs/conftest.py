"""Fixtures for the spec tests: a specs folder with the real policy file, checkers."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.policy import Policy
from engine.spec_check import SpecError, check_file

REPO_SPECS = Path(engine.__file__).parent.parent / "specs"

# Seven lines that make a valid calc service; a test body starts on line 8.
HEADER = """\
id: unit-x
version: 1
title: T
hall: unit
kind: calc
menu: {group: g, order: 1}
result: {operation: loan.trial}
"""

CheckResult = tuple[dict[str, Any] | None, list[SpecError]]


@pytest.fixture
def spec_header() -> str:
    return HEADER


@pytest.fixture
def specs_root(tmp_path: Path) -> Path:
    root = tmp_path / "specs"
    (root / "unit").mkdir(parents=True)
    (root / "person").mkdir()
    shutil.copyfile(REPO_SPECS / "policy.yaml", root / "policy.yaml")
    return root


@pytest.fixture
def policy_names() -> set[str]:
    return Policy.from_file(REPO_SPECS / "policy.yaml").names()


@pytest.fixture
def write_spec(specs_root: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "unit-x", folder: str = "unit") -> Path:
        path = specs_root / folder / f"{name}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def check_spec(
    write_spec: Callable[..., Path], policy_names: set[str]
) -> Callable[..., CheckResult]:
    """Write a whole spec to unit/unit-x.yaml (or elsewhere) and check it."""

    def check(
        text: str,
        name: str = "unit-x",
        folder: str = "unit",
        known_operations: set[str] | None = None,
    ) -> CheckResult:
        path = write_spec(text, name, folder)
        return check_file(
            path, policy_names=policy_names, known_operations=known_operations
        )

    return check


@pytest.fixture
def check_body(
    check_spec: Callable[..., CheckResult],
) -> Callable[..., list[SpecError]]:
    """Check HEADER followed by `body`, whose first line is line 8 of the file."""

    def check(body: str, known_operations: set[str] | None = None) -> list[SpecError]:
        text = HEADER + textwrap.dedent(body)
        return check_spec(text, known_operations=known_operations)[1]

    return check
