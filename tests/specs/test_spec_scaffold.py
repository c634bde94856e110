"""Tests of `hall specs new`: each starting spec is written and passes the check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from engine import spec_check
from engine.cli import main


@pytest.fixture
def hall_specs(
    specs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point the commands at empty spec folders and a copy of the print templates."""
    monkeypatch.setenv("HALL_SPECS_DIR", str(specs_root))
    templates = tmp_path / "templates"
    shutil.copytree(spec_check.PRINT_TEMPLATES, templates)
    monkeypatch.setattr(spec_check, "PRINT_TEMPLATES", templates)
    return specs_root


def run(*arguments: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, list(arguments))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output.splitlines()


@pytest.mark.parametrize("hall", ["unit", "person"])
@pytest.mark.parametrize("kind", ["query", "apply", "calc", "print"])
def test_new_spec_passes_check(hall_specs: Path, hall: str, kind: str) -> None:
    spec_id = f"{hall}-new-{kind}"
    code, lines = run("specs", "new", spec_id, "--hall", hall, "--kind", kind)
    path = hall_specs / hall / f"{spec_id}.yaml"
    assert code == 0, lines
    assert lines[0] == f"wrote {path}"
    assert lines[-1] == "checked 1 spec: no errors"
    if kind == "print":
        assert lines[1] == f"wrote {spec_check.PRINT_TEMPLATES / (spec_id + '.html')}"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert (data["id"], data["hall"], data["kind"]) == (spec_id, hall, kind)
    assert data["title"] == f"新业务 {spec_id}"


def test_new_specs_check_together(hall_specs: Path) -> None:
    for kind in ("query", "apply", "calc", "print"):
        assert (
            run("specs", "new", f"unit-a-{kind}", "--hall", "unit", "--kind", kind)[0]
            == 0
        )
    code, lines = run("specs", "check")
    assert code == 0
    # Each new spec takes the next menu place, so no two clash.
    assert lines == ["checked 4 specs: no errors"]
    orders = [
        yaml.safe_load(path.read_text(encoding="utf-8"))["menu"]["order"]
        for path in sorted((hall_specs / "unit").glob("*.yaml"))
    ]
    assert sorted(orders) == [10, 20, 30, 40]


def test_new_with_title(hall_specs: Path) -> None:
    code, _ = run(
        "specs",
        "new",
        "unit-staff",
        "--hall",
        "unit",
        "--kind",
        "query",
        "--title",
        "yes",
    )
    assert code == 0
    text = (hall_specs / "unit" / "unit-staff.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["title"] == "yes"


def test_new_keeps_existing_file(hall_specs: Path) -> None:
    path = hall_specs / "unit" / "unit-staff.yaml"
    path.write_text("id: unit-staff\n", encoding="utf-8")
    code, lines = run("specs", "new", "unit-staff", "--hall", "unit", "--kind", "query")
    assert code == 1
    assert lines == [
        f"Error: {path} already exists; choose another id or edit that file"
    ]
    assert path.read_text(encoding="utf-8") == "id: unit-staff\n"


@pytest.mark.parametrize(
    ("spec_id", "phrase"),
    [
        # The id starts with the other hall.
        ("person-staff", "must start with 'unit-'"),
        # Capitals and underscores are not allowed in ids.
        ("unit-Staff_list", "the id 'unit-Staff_list' is invalid"),
    ],
)
def test_new_rejects_bad_id(hall_specs: Path, spec_id: str, phrase: str) -> None:
    code, lines = run("specs", "new", spec_id, "--hall", "unit", "--kind", "query")
    assert code == 1
    assert phrase in lines[0]
    assert list((hall_specs / "unit").iterdir()) == []


def test_new_print_writes_template(
    hall_specs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = spec_check.PRINT_TEMPLATES
    code, lines = run("specs", "new", "unit-proof", "--hall", "unit", "--kind", "print")
    assert code == 0, lines
    assert lines[1] == f"wrote {templates / 'unit-proof.html'}"
    assert lines[2] == "checked 1 spec: no errors"
    assert "{{ data.name }}" in (templates / "unit-proof.html").read_text(
        encoding="utf-8"
    )
