"""The `hall` command line: a click group that each command group is added to."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import click
import yaml

import engine
from engine.policy import Policy
from engine.spec_check import check_specs, load_specs, spec_paths
from engine.spec_errors import did_you_mean


@click.group()
def main() -> None:
    """Run and maintain the online service hall of the housing provident fund."""
    # WeasyPrint logs each layout step at INFO. Version 70 also parses its own
    # stylesheets when imported, which any command that creates the app does.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


# hall specs --------------------------------------------------------------------------


def specs_dir() -> Path:
    """Return the folder with unit/, person/ and policy.yaml.

    The HALL_SPECS_DIR environment variable overrides the repository's specs/ folder.
    """
    configured = os.environ.get("HALL_SPECS_DIR")
    if configured:
        return Path(configured)
    return Path(engine.__file__).parent.parent / "specs"


def _policy_names(directory: Path) -> set[str]:
    path = directory / "policy.yaml"
    try:
        return Policy.from_file(path).names()
    except (OSError, yaml.YAMLError, KeyError, ValueError) as error:
        raise click.ClickException(
            f"failed to read the policy figures from {path}: {error}; "
            "set HALL_SPECS_DIR to the folder that contains policy.yaml"
        ) from None


def known_operations() -> set[str]:
    """Return the operations of the embedded core and of the hall's own connectors."""
    from sqlalchemy.orm import sessionmaker

    from connectors.embedded.operations import OPERATIONS
    from engine.accounts import LoginAccounts
    from engine.records import ApplicationRecords

    hall_connectors = (
        ApplicationRecords(sessionmaker()),
        LoginAccounts(sessionmaker()),
    )
    names = set(OPERATIONS)
    for connector in hall_connectors:
        names |= connector.operations()
    return names


def _spec_files(paths: tuple[Path, ...]) -> list[Path]:
    """Expand the paths given on the command line into spec files."""
    files: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path)
        elif (path / "unit").is_dir() or (path / "person").is_dir():
            files.extend(spec_paths(path))
        else:
            found = path.glob("*.yaml")
            files.extend(sorted(item for item in found if item.name != "policy.yaml"))
    return files


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


@click.group("specs")
def specs_group() -> None:
    """Check and list the service specs."""


@specs_group.command("check")
@click.argument(
    "paths", nargs=-1, type=click.Path(exists=True, path_type=Path), metavar="[PATH]..."
)
@click.pass_context
def specs_check(context: click.Context, paths: tuple[Path, ...]) -> None:
    """Check the spec files and folders given, or every spec when no PATH is given.

    Prints each error as file:line:column: path: message [CODE], then the warnings
    under a heading of their own, then a summary line. Connector operations are
    checked against the embedded core. Exits with status 1 when any spec has an
    error; warnings alone do not change the status.
    """
    directory = specs_dir()
    files = _spec_files(paths) if paths else spec_paths(directory)
    report = check_specs(
        files,
        policy_names=_policy_names(directory),
        known_operations=known_operations(),
    )
    for error in report.errors:
        click.echo(str(error))
    if report.warnings:
        click.echo("warnings (the specs still load):")
        for warning in report.warnings:
            click.echo(str(warning))
    found = _count(len(report.errors), "error") if report.errors else "no errors"
    if report.warnings:
        found += f", {_count(len(report.warnings), 'warning')}"
    click.echo(f"checked {_count(len(files), 'spec')}: {found}")
    context.exit(1 if report.errors else 0)


@specs_group.command("list")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a JSON array of objects instead of tab-separated lines.",
)
@click.pass_context
def specs_list(context: click.Context, as_json: bool) -> None:
    """List the specs: id, hall, kind and title, separated by tabs.

    Specs with errors are left out, and their errors go to standard error.
    """
    directory = specs_dir()
    specs, errors = load_specs(
        spec_paths(directory), policy_names=_policy_names(directory)
    )
    for error in errors:
        click.echo(str(error), err=True)
    entries = sorted(
        (_list_entry(spec) for spec in specs.values()),
        key=lambda entry: (entry["hall"], entry["group"], entry["order"], entry["id"]),
    )
    if as_json:
        click.echo(json.dumps(entries, ensure_ascii=False, indent=2))
    else:
        for entry in entries:
            fields = (entry["id"], entry["hall"], entry["kind"], entry["title"])
            click.echo("\t".join(fields))
    context.exit(1 if errors else 0)


@specs_group.command("new")
@click.argument("spec_id", metavar="ID")
@click.option(
    "--hall",
    type=click.Choice(["unit", "person"]),
    required=True,
    help="The hall whose menu lists the service.",
)
@click.option(
    "--kind",
    type=click.Choice(["query", "apply", "calc", "print"]),
    required=True,
    help="query lists records, apply sends an application, calc works out figures, "
    "print issues a document.",
)
@click.option("--title", help="The menu title; the default is 新业务 and the id.")
@click.pass_context
def specs_new(
    context: click.Context, spec_id: str, hall: str, kind: str, title: str | None
) -> None:
    """Write a commented starting spec ID.yaml into the hall's folder and check it.

    The spec passes `hall specs check` as written; edit it from there. An existing
    file is never overwritten.
    """
    from engine import spec_check
    from engine.spec_scaffold import (
        PRINT_TEMPLATE,
        ScaffoldError,
        next_menu_order,
        starting_spec,
    )

    directory = specs_dir()
    folder = directory / hall
    path = folder / f"{spec_id}.yaml"
    if path.exists():
        raise click.ClickException(
            f"{path} already exists; choose another id or edit that file"
        )
    try:
        text = starting_spec(
            spec_id,
            hall,
            kind,
            title=title or f"新业务 {spec_id}",
            order=next_menu_order(folder),
        )
    except ScaffoldError as error:
        raise click.ClickException(str(error)) from None
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    click.echo(f"wrote {path}")
    template = spec_check.PRINT_TEMPLATES / f"{spec_id}.html"
    folder_exists = spec_check.PRINT_TEMPLATES.is_dir()
    if kind == "print" and folder_exists and not template.exists():
        template.write_text(PRINT_TEMPLATE, encoding="utf-8")
        click.echo(f"wrote {template}")
    context.invoke(specs_check, paths=(path,))


@specs_group.command("docs")
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Only compare: exit with status 1 when docs/specs.md is out of date.",
)
@click.pass_context
def specs_docs(context: click.Context, check_only: bool) -> None:
    """Write docs/specs.md, the spec reference, from the meta-schema and its notes."""
    from engine.spec_docs import REFERENCE, render

    text = render()
    current = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
    if check_only:
        if current != text:
            click.echo(f"{REFERENCE} is out of date; run hall specs docs")
            context.exit(1)
        click.echo(f"{REFERENCE} is up to date")
        return
    REFERENCE.write_text(text, encoding="utf-8")
    click.echo(f"wrote {REFERENCE}")


@specs_group.command("samples")
@click.argument("spec_id", metavar="ID")
@click.option(
    "--count", default=3, show_default=True, help="Number of random valid submissions."
)
def specs_samples(spec_id: str, count: int) -> None:
    """Print valid and invalid submissions of service ID as JSON.

    Each invalid submission names where its error shows and the message expected.
    Options that come from a connector and rows that the core supplies are left out,
    because this command does not call the core; the notes say which.
    """
    from engine.clock import business_date
    from engine.schemas import make_bound_resolver
    from engine.service import build_service

    try:
        from engine.spec_samples import make_samples
    except ImportError as error:
        raise click.ClickException(
            f"hall specs samples needs {error.name}, a test dependency; install it "
            "with pip install -e '.[test]'"
        ) from None

    directory = specs_dir()
    policy = Policy.from_file(directory / "policy.yaml")
    specs, _ = load_specs(spec_paths(directory), policy_names=policy.names())
    if spec_id not in specs:
        hint = did_you_mean(spec_id, specs, "service")
        raise click.ClickException(f"no spec has the id {spec_id!r}; {hint}")
    resolve = make_bound_resolver(policy.values_at(business_date()))
    samples = make_samples(build_service(specs[spec_id]), resolve, count=count)
    click.echo(json.dumps(samples.as_json(), ensure_ascii=False, indent=2))


@specs_group.command("export")
@click.argument("spec_id", metavar="ID")
@click.option(
    "--format",
    "form",
    type=click.Choice(["jsonschema", "openapi"]),
    default="jsonschema",
    show_default=True,
    help="jsonschema describes the submitted form inputs, and openapi every "
    "endpoint of the service as OpenAPI 3.1.",
)
def specs_export(spec_id: str, form: str) -> None:
    """Print the contract of service ID as JSON, for testers outside the project."""
    from engine.clock import business_date
    from engine.schemas import make_bound_resolver
    from engine.service import build_service
    from engine.spec_export import openapi, submission_schema

    directory = specs_dir()
    policy = Policy.from_file(directory / "policy.yaml")
    specs, _ = load_specs(spec_paths(directory), policy_names=policy.names())
    if spec_id not in specs:
        hint = did_you_mean(spec_id, specs, "service")
        raise click.ClickException(f"no spec has the id {spec_id!r}; {hint}")
    resolve = make_bound_resolver(policy.values_at(business_date()))
    service = build_service(specs[spec_id])
    document = (
        openapi(service, resolve)
        if form == "openapi"
        else (submission_schema(service, resolve))
    )
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


def _list_entry(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": spec["id"],
        "hall": spec["hall"],
        "kind": spec["kind"],
        "title": spec["title"],
        "group": spec["menu"]["group"],
        "order": spec["menu"]["order"],
        "version": spec["version"],
    }


main.add_command(specs_group)


def _add_run_commands() -> None:
    from engine.commands import db_group, deliver, demo_group, serve

    main.add_command(db_group)
    main.add_command(demo_group)
    main.add_command(serve)
    main.add_command(deliver)

    from engine.loan_commands import loans_group

    main.add_command(loans_group)


_add_run_commands()
