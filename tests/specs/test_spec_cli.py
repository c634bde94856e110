"""Tests of the `hall specs check` and `hall specs list` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main

QUERY = """\
id: person-balance
version: 3
title: 余额查询
hall: person
kind: query
menu: {group: 查询业务, order: 2}
result: {operation: person.account}
"""

CALC = """\
id: unit-trial
version: 1
title: 试算
hall: unit
kind: calc
menu: {group: 缴存业务, order: 1}
result: {operation: loan.trial}
"""

APPLY = """\
id: unit-open
version: 1
title: 开户
hall: unit
kind: apply
menu: {group: 缴存业务, order: 0}
submit: {operation: account.open}
"""


@pytest.fixture
def hall_specs(specs_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HALL_SPECS_DIR", str(specs_root))
    (specs_root / "person" / "person-balance.yaml").write_text(QUERY, encoding="utf-8")
    (specs_root / "unit" / "unit-trial.yaml").write_text(CALC, encoding="utf-8")
    (specs_root / "unit" / "unit-open.yaml").write_text(APPLY, encoding="utf-8")
    return specs_root


def run(*arguments: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, list(arguments))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output.splitlines()


def test_check_all_valid(hall_specs: Path) -> None:
    code, lines = run("specs", "check")
    assert code == 0
    assert lines == ["checked 3 specs: no errors"]


def test_check_reports_every_error(hall_specs: Path) -> None:
    broken = hall_specs / "unit" / "unit-trial.yaml"
    text = CALC.replace("version: 1", "version: 0").replace("title: 试算", "title: no")
    broken.write_text(text, encoding="utf-8")
    code, lines = run("specs", "check")
    assert code == 1
    assert lines == [
        f"{broken}:2:10: version: 0 is below the minimum 1; write 1 or more [E110]",
        f"{broken}:3:8: title: no without quotes is read as the boolean false; "
        "write 'no' in quotes if you mean the text [E011]",
        "checked 3 specs: 2 errors",
    ]


def test_check_one_file(hall_specs: Path) -> None:
    code, lines = run("specs", "check", str(hall_specs / "unit" / "unit-open.yaml"))
    assert code == 0
    assert lines == ["checked 1 spec: no errors"]


def test_check_folder_of_files(hall_specs: Path) -> None:
    (hall_specs / "unit" / "unit-open.yaml").write_text("id: [\n", encoding="utf-8")
    code, lines = run("specs", "check", str(hall_specs / "unit"))
    assert code == 1
    assert len(lines) == 2
    assert lines[0].startswith(f"{hall_specs}/unit/unit-open.yaml:2:1: (file): ")
    assert lines[1] == "checked 2 specs: 1 error"


def test_check_specs_folder(hall_specs: Path) -> None:
    code, lines = run("specs", "check", str(hall_specs))
    assert code == 0
    assert lines == ["checked 3 specs: no errors"]


def test_check_missing_path(hall_specs: Path) -> None:
    code, _ = run("specs", "check", str(hall_specs / "nowhere.yaml"))
    assert code == 2


def test_check_without_policy(hall_specs: Path) -> None:
    (hall_specs / "policy.yaml").unlink()
    code, lines = run("specs", "check")
    assert code == 1
    assert lines[0].startswith("Error: failed to read the policy figures from")
    assert "set HALL_SPECS_DIR" in lines[0]


def test_list_text(hall_specs: Path) -> None:
    code, lines = run("specs", "list")
    assert code == 0
    assert lines == [
        "person-balance\tperson\tquery\t余额查询",
        "unit-open\tunit\tapply\t开户",
        "unit-trial\tunit\tcalc\t试算",
    ]


def test_list_json(hall_specs: Path) -> None:
    code, lines = run("specs", "list", "--json")
    assert code == 0
    entries = json.loads("\n".join(lines))
    assert [entry["id"] for entry in entries] == [
        "person-balance",
        "unit-open",
        "unit-trial",
    ]
    assert entries[0] == {
        "id": "person-balance",
        "hall": "person",
        "kind": "query",
        "title": "余额查询",
        "group": "查询业务",
        "order": 2,
        "version": 3,
    }


def test_list_skips_broken_spec(hall_specs: Path) -> None:
    broken = hall_specs / "unit" / "unit-open.yaml"
    broken.write_text(APPLY.replace("submit:", "sub:"), encoding="utf-8")
    result = CliRunner().invoke(main, ["specs", "list"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "person-balance\tperson\tquery\t余额查询",
        "unit-trial\tunit\tcalc\t试算",
    ]
    assert f"{broken}:7:1: sub: unknown key 'sub'" in result.stderr


def test_default_specs_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HALL_SPECS_DIR", raising=False)
    from engine.cli import specs_dir

    assert specs_dir() == Path(__file__).resolve().parents[2] / "specs"


def test_check_lists_warnings_apart(hall_specs: Path) -> None:
    path = hall_specs / "unit" / "unit-open.yaml"
    text = APPLY + "attachments:\n  - {kind: scan, label: S, types: [pdf]}\n"
    text = text.replace("account.open", "acount.open")
    path.write_text(text, encoding="utf-8")
    code, lines = run("specs", "check")
    assert code == 1
    assert lines[0] == (
        f"{path}:7:21: submit.operation: 'acount.open' is not a known connector "
        "operation; did you mean 'account.open'? [E404]"
    )
    assert lines[1] == "warnings (the specs still load):"
    assert lines[2].startswith(f"{path}:9:5: attachments[0]: the attachment 'scan'")
    assert lines[2].endswith("[W601]")
    assert lines[3] == "checked 3 specs: 1 error, 1 warning"


def test_check_passes_with_warnings_only(hall_specs: Path) -> None:
    path = hall_specs / "unit" / "unit-open.yaml"
    text = APPLY + "attachments:\n  - {kind: scan, label: S, types: [pdf]}\n"
    path.write_text(text, encoding="utf-8")
    code, lines = run("specs", "check")
    assert code == 0
    assert lines[-1] == "checked 3 specs: no errors, 1 warning"
