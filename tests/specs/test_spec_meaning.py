"""Tests of the meaning checks: expressions, cycles, warnings, menus, print templates."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import spec_check
from engine.spec_check import SpecError, check_specs
from engine.spec_errors import CATALOGUE, ERROR, WARNING, message

CheckBody = Callable[..., list[SpecError]]
CheckSpec = Callable[..., tuple]

TOTALS = """\
fields:
  - {name: a, type: money, label: A, read-only: true}
  - {name: b, type: money, label: B, read-only: true}
  - {name: c, type: money, label: C}
"""


def found(errors: list[SpecError]) -> list[tuple[int, int, str, str]]:
    return [(e.line, e.column, e.path, e.code) for e in errors]


# Each case: the body after the 7-line header (TOTALS takes lines 8 to 11), where the
# finding is, its code and a phrase of its message.
MEANING = [
    # A misspelled function is named with the closest function of the language.
    pytest.param(
        TOTALS + "calculations:\n  - {target: a, expression: 'sume(c, 1)'}\n",
        (13, 29, "calculations[0].expression", "E306"),
        "calls sume(), which is not a function of the expression language; "
        "did you mean 'sum'?",
        id="function-misspelled",
    ),
    # An unknown name in a calculation is named with the closest field.
    pytest.param(
        TOTALS + "calculations:\n  - {target: a, expression: 'cc * 2'}\n",
        (13, 29, "calculations[0].expression", "E307"),
        "reads 'cc', which is not a field here; did you mean 'c'?",
        id="name-misspelled",
    ),
    # A visible-when condition on an unknown field has a code of its own.
    pytest.param(
        "fields:\n  - {name: kind, type: text, label: K}\n"
        "  - {name: note, type: text, label: Note, visible-when: \"knid == '2'\"}\n",
        (10, 57, "fields[1].visible-when", "E311"),
        "visible-when reads 'knid', which is not a field here, so the field would "
        "never show; did you mean 'kind'?",
        id="visible-when-unknown",
    ),
    # Two calculations that read each other.
    pytest.param(
        TOTALS + "calculations:\n  - {target: a, expression: 'b + c'}\n"
        "  - {target: b, expression: 'a * 2'}\n",
        (13, 29, "calculations[0].expression", "E312"),
        "the calculations a → b → a depend on each other in a circle",
        id="cycle-of-two",
    ),
    # A calculation that reads its own result.
    pytest.param(
        TOTALS + "calculations:\n  - {target: a, expression: 'a + c'}\n",
        (13, 29, "calculations[0].expression", "E312"),
        "the calculations a → a depend on each other",
        id="cycle-of-one",
    ),
    # A circle through a row table: a total of a column that reads the total.
    pytest.param(
        TOTALS + "rows:\n  - name: staff\n    label: S\n    fields:\n"
        "      - {name: base, type: money, label: B}\n"
        "      - {name: share, type: money, label: S, read-only: true}\n"
        "    calculations:\n      - {target: share, expression: 'base / a'}\n"
        "calculations:\n  - {target: a, expression: 'sum(staff.share)'}\n",
        (21, 29, "calculations[0].expression", "E312"),
        "the calculations a → staff.share → a depend",
        id="cycle-through-rows",
    ),
    # A lookup that fills a field the form does not have.
    pytest.param(
        TOTALS + "lookups:\n  - {name: l, operation: a.b, fill: {d: x}}\n",
        (13, 38, "lookups[0].fill.d", "E402"),
        "fill names 'd', which is not a field at the top level of the form",
        id="lookup-fills-missing-field",
    ),
]


@pytest.mark.parametrize(("body", "where", "phrase"), MEANING)
def test_meaning_checked(
    check_body: CheckBody, body: str, where: tuple, phrase: str
) -> None:
    errors = check_body(body)
    assert found(errors) == [where]
    assert phrase in errors[0].message


def test_chain_without_circle_passes(check_body: CheckBody) -> None:
    body = TOTALS + (
        "calculations:\n  - {target: a, expression: 'b + c'}\n"
        "  - {target: b, expression: 'c * 2'}\n"
    )
    assert check_body(body) == []


# Warnings: the body after the header, where each warning is, its code and a phrase.
WARNINGS = [
    pytest.param(
        "attachments:\n  - {kind: card, label: C, types: [pdf]}\n",
        (9, 5, "attachments[0]", "W601"),
        "the attachment 'card' states no max-size-kb or max-count, so the engine's "
        "default of 5120 KB a file and 10 files applies",
        id="attachment-without-limits",
    ),
    pytest.param(
        "attachments:\n  - {kind: card, label: C, types: [pdf], max-count: 2}\n",
        (9, 5, "attachments[0]", "W601"),
        "states no max-size-kb, so the engine's default of 5120 KB a file applies; "
        "write max-size-kb: ...",
        id="attachment-without-size",
    ),
    pytest.param(
        "fields:\n  - {name: scan, type: file, label: S}\n",
        (9, 5, "fields[0]", "W602"),
        "the file field 'scan' states no types or max-size-kb",
        id="file-field-without-limits",
    ),
]


@pytest.mark.parametrize(("body", "where", "phrase"), WARNINGS)
def test_warning_lets_spec_load(
    write_spec: Callable[..., Path],
    spec_header: str,
    policy_names: set[str],
    body: str,
    where: tuple,
    phrase: str,
) -> None:
    path = write_spec(spec_header + body)
    report = check_specs([path], policy_names=policy_names)
    assert report.errors == []
    assert list(report.specs) == ["unit-x"]
    assert found(report.warnings) == [where]
    assert report.warnings[0].is_warning
    assert phrase in report.warnings[0].message


def test_attachment_with_limits_has_no_warning(
    write_spec: Callable[..., Path], spec_header: str, policy_names: set[str]
) -> None:
    body = "attachments:\n  - {kind: c, label: C, types: [pdf], max-size-kb: 9, max-count: 1}\n"
    report = check_specs([write_spec(spec_header + body)], policy_names=policy_names)
    assert (report.errors, report.warnings) == ([], [])


def test_menu_clashes(
    write_spec: Callable[..., Path], spec_header: str, policy_names: set[str]
) -> None:
    first = write_spec(spec_header, name="unit-x")
    same_title = write_spec(spec_header.replace("unit-x", "unit-y"), name="unit-y")
    same_place = write_spec(
        spec_header.replace("unit-x", "unit-z").replace("title: T", "title: Z"),
        name="unit-z",
    )
    other_hall = write_spec(
        spec_header.replace("unit-x", "person-x").replace("hall: unit", "hall: person"),
        name="person-x",
        folder="person",
    )
    report = check_specs(
        [first, same_title, same_place, other_hall], policy_names=policy_names
    )
    # Either of two services with one title may be the one to rename.
    assert [(e.file, e.path, e.code) for e in report.errors] == [
        (str(first), "title", "E206"),
        (str(same_title), "title", "E206"),
    ]
    assert "the title 'T' is already in the unit hall's menu, for unit-y" in (
        report.errors[0].message
    )
    assert "for unit-x;" in report.errors[1].message
    assert [(e.file, e.path, e.code) for e in report.warnings] == [
        (str(first), "menu.order", "W603"),
        (str(same_title), "menu.order", "W603"),
        (str(same_place), "menu.order", "W603"),
    ]
    assert report.warnings[2].message.startswith(
        "the menu group 'g' has unit-x, unit-y at the same order 1 too;"
    )
    assert sorted(report.specs) == ["person-x", "unit-z"]


PRINT_SPEC = """\
id: unit-proof
version: 1
title: 证明
hall: unit
kind: print
menu: {group: g, order: 1}
print: {operation: unit.profile, template: proof.html}
"""


@pytest.fixture
def print_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "_base.html").write_text(
        "<h1>{{ title }}</h1>{% block body %}{% endblock %}{{ centre_name }}",
        encoding="utf-8",
    )
    monkeypatch.setattr(spec_check, "PRINT_TEMPLATES", folder)
    return folder


def test_print_template_undefined_names(
    check_spec: CheckSpec, print_templates: Path
) -> None:
    (print_templates / "proof.html").write_text(
        '{% extends "_base.html" %}{% block body %}{% set n = data.name %}'
        "{{ n }} {{ centre_nme }} {{ issued_on|default('') }} {{ stamp }}"
        "{% endblock %}",
        encoding="utf-8",
    )
    _, errors = check_spec(PRINT_SPEC, name="unit-proof")
    assert found(errors) == [
        (7, 44, "print.template", "E506"),
        (7, 44, "print.template", "E506"),
    ]
    assert "uses 'centre_nme', which the print page does not provide; did you " in (
        errors[0].message
    )
    assert "did you mean 'centre_name'?" in errors[0].message
    assert "uses 'stamp'" in errors[1].message


def test_print_template_missing(check_spec: CheckSpec, print_templates: Path) -> None:
    (print_templates / "proofs.html").write_text("{{ data.x }}", encoding="utf-8")
    _, errors = check_spec(PRINT_SPEC, name="unit-proof")
    assert found(errors) == [(7, 44, "print.template", "E505")]
    assert "did you mean 'proofs.html'?" in errors[0].message


def test_print_template_unreadable(
    check_spec: CheckSpec, print_templates: Path
) -> None:
    (print_templates / "proof.html").write_text("{% if %}", encoding="utf-8")
    _, errors = check_spec(PRINT_SPEC, name="unit-proof")
    assert found(errors) == [(7, 44, "print.template", "E507")]


def test_print_template_fine(check_spec: CheckSpec, print_templates: Path) -> None:
    (print_templates / "proof.html").write_text(
        '{% extends "_base.html" %}{% block body %}{{ data.name }}{% endblock %}',
        encoding="utf-8",
    )
    data, errors = check_spec(PRINT_SPEC, name="unit-proof")
    assert errors == []
    assert data["print"]["template"] == "proof.html"


# The catalogue ----------------------------------------------------------------------

ENGINE = Path(spec_check.__file__).parent


def test_catalogue_codes_well_formed() -> None:
    for code, entry in CATALOGUE.items():
        assert re.fullmatch(r"[EW][0-9]{3}", code)
        assert entry.code == code
        assert entry.severity == (WARNING if code.startswith("W") else ERROR)
    names = [entry.name for entry in CATALOGUE.values()]
    assert len(names) == len(set(names))


def test_catalogue_templates_fill() -> None:
    for code, entry in CATALOGUE.items():
        params = {
            name: "X"
            for _, name, _, _ in string.Formatter().parse(entry.template)
            if name
        }
        text = message(code, **params)
        assert text, code
        assert "{" not in text, code


def test_every_code_used_is_catalogued() -> None:
    used = set()
    for module in ("spec_check.py", "spec_loader.py", "cli.py"):
        source = (ENGINE / module).read_text(encoding="utf-8")
        used |= set(re.findall(r'"([EW][0-9]{3})"', source))
    assert used
    assert used <= set(CATALOGUE)


def test_rules_run_despite_schema_errors(check_body: CheckBody) -> None:
    body = (
        "fields:\n"
        "  - {name: a, type: mony, label: A, checks: {max: policy.base_cp}}\n"
        "  - {name: a, type: text, label: B}\n"
        "steps:\n"
        "  - {name: s, title: S, fields: [b]}\n"
    )
    errors = check_body(body)
    assert found(errors) == [
        (9, 21, "fields[0].type", "E105"),
        (9, 51, "fields[0].checks.max", "E304"),
        (10, 12, "fields[1].name", "E205"),
        (12, 34, "steps[0].fields[0]", "E503"),
    ]
