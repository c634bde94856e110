"""Tests of the exported contracts: JSON Schema of a submission, OpenAPI endpoints.

Schemathesis generates requests from each service's OpenAPI export, both valid ones
and ones that break the schema. They go to the app as a logged-in user, and no
response may be a server error.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import schemathesis
from click.testing import CliRunner
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from support import login_person, login_unit

from engine import create_app
from engine.cli import main
from engine.policy import Policy
from engine.schemas import make_bound_resolver
from engine.service import build_service
from engine.spec_check import load_specs, spec_paths
from engine.spec_docs import REPO
from engine.spec_export import openapi, submission_schema

POLICY = Policy.from_file(REPO / "specs" / "policy.yaml")
SPECS = load_specs(spec_paths(REPO / "specs"), policy_names=POLICY.names())[0]
RESOLVE = make_bound_resolver(POLICY.values_at(dt.date.today()))
DEMO_ID_NUMBER = "44020319850305021X"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            # Generated requests carry no CSRF token; the engine behind it is tested.
            "WTF_CSRF_ENABLED": False,
        }
    )
    yield app
    app.extensions["hall"].session_factory.kw["bind"].dispose()


def session_cookie(app: Flask, hall: str) -> str:
    client = app.test_client()
    if hall == "unit":
        login_unit(client, app)
    else:
        login_person(client, DEMO_ID_NUMBER)
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


# NOTE: the export does not describe print services' download endpoints yet.
FORM_SPECS = sorted(
    spec_id for spec_id, spec in SPECS.items() if spec["kind"] != "print"
)


@pytest.mark.parametrize("spec_id", FORM_SPECS)
def test_openapi_finds_no_server_error(app: Flask, spec_id: str) -> None:
    service = app.extensions["hall"].services[spec_id]
    schema = schemathesis.openapi.from_dict(openapi(service, RESOLVE))
    schema.app = app
    cookies = {"session": session_cookie(app, service.hall)}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(
                max_examples=15,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def send(case: Any) -> None:
                response = case.call_and_validate(
                    cookies=cookies, checks=[not_a_server_error]
                )
                assert response.status_code < 500

            send()


@pytest.mark.parametrize("spec_id", sorted(SPECS))
def test_submission_schema_is_valid(spec_id: str) -> None:
    schema = submission_schema(build_service(SPECS[spec_id]), RESOLVE)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] == SPECS[spec_id]["title"]


def test_submission_schema_describes_inputs() -> None:
    schema = submission_schema(build_service(SPECS["unit-open-account"]), RESOLVE)
    assert schema["required"] == ["first_month"]
    base = schema["patternProperties"]["^employees-[0-9]{1,4}-base$"]
    assert base["title"] == "缴存基数（元）"
    assert base["x-minimum"] == str(POLICY.value("base_floor"))
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"first_month": "2026-01", "employees-0-base": "5000.00"})
    assert not validator.is_valid({"first_month": "2026-13"})
    assert not validator.is_valid(
        {"first_month": "2026-01", "employees-0-mobile": "12"}
    )


def test_export_command_formats() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["specs", "export", "unit-ledger"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["properties"]["month_from"]["pattern"]
    result = runner.invoke(
        main, ["specs", "export", "unit-ledger", "--format", "openapi"]
    )
    assert result.exit_code == 0, result.output
    paths = json.loads(result.output)["paths"]
    assert sorted(paths) == [
        "/unit/unit-ledger",
        "/unit/unit-ledger/export.csv",
        "/unit/unit-ledger/export.xlsx",
    ]
