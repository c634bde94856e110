"""The `hall` command line: a click group that each command group is added to."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
import yaml

import engine
from engine.policy import Policy
from engine.spec_check import load_specs, spec_paths


@click.group()
def main() -> None:
    """Run and maintain the online service hall of the housing provident fund."""


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

    Prints each error as file:line:column: path: message, then a summary line.
    Exits with status 1 when any spec has an error.
    """
    directory = specs_dir()
    files = _spec_files(paths) if paths else spec_paths(directory)
    _, errors = load_specs(files, policy_names=_policy_names(directory))
    for error in errors:
        click.echo(str(error))
    found = _count(len(errors), "error") if errors else "no errors"
    click.echo(f"checked {_count(len(files), 'spec')}: {found}")
    context.exit(1 if errors else 0)


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
    from engine.commands import db_group, demo_group, serve

    main.add_command(db_group)
    main.add_command(demo_group)
    main.add_command(serve)

    from engine.loan_commands import loans_group

    main.add_command(loans_group)


_add_run_commands()
