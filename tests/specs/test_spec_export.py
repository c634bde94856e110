"""Tests of the exported contracts: JSON Schema of a submission, OpenAPI endpoints.

Schemathesis generates requests from each service's OpenAPI export, both valid ones
and ones that break the schema. They go to the app as a logged-in demo user of the
service's hall, with a valid CSRF token. No response may be a server error, and each
status code, media type and required header must be one the export documents.
Each xlsx import also gets a valid file, an invalid one and a discard, built from
its template.
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
import schemathesis
from click.testing import CliRunner
from flask import Flask
from hypothesis import HealthCheck, given, settings
from openpyxl import load_workbook
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    status_code_conformance,
)
from support import csrf_token, login_person, login_unit

from engine import create_app
from engine.cli import main
from engine.clock import business_date
from engine.policy import Policy
from engine.schemas import make_bound_resolver
from engine.service import RowTable, Service, build_service
from engine.spec_check import load_specs, spec_paths
from engine.spec_docs import REPO
from engine.spec_export import openapi, submission_schema

POLICY = Policy.from_file(REPO / "specs" / "policy.yaml")
SPECS = load_specs(spec_paths(REPO / "specs"), policy_names=POLICY.names())[0]
RESOLVE = make_bound_resolver(POLICY.values_at(business_date()))
DEMO_ID_NUMBER = "44020319850305021X"
MULTIPART = "multipart/form-data"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    yield app
    app.extensions["hall"].session_factory.kw["bind"].dispose()


def logged_in(app: Flask, hall: str) -> tuple[str, str]:
    """Log into `hall` as a demo user, and return the session cookie and CSRF token."""
    client = app.test_client()
    if hall == "unit":
        login_unit(client, app)
    else:
        login_person(client, DEMO_ID_NUMBER)
    token = csrf_token(client.get(f"/{hall}/"))
    # The session stores the token's secret once a page has shown the token.
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value, token


# Generated requests per operation and generation mode. A print operation renders a
# PDF for each valid request, which takes far longer than a page.
EXAMPLES = 4
PRINT_EXAMPLES = 2
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]


def send_cases(operation: Any, mode: GenerationMode, examples: int, sent: Any) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case: Any) -> None:
        sent(case)

    send()


def first_exporters() -> dict[tuple[str, str], str]:
    """Map each endpoint shared by several services to the first spec describing it.

    The application pages, attachment downloads, SMS code and /verify appear in
    the export of every service that uses them, and are sent requests only once.
    """
    owners: dict[tuple[str, str], str] = {}
    for spec_id in sorted(SPECS):
        document = openapi(build_service(SPECS[spec_id]), RESOLVE)
        for path, item in document["paths"].items():
            if spec_id not in path:
                for method in item:
                    owners.setdefault((method, path), spec_id)
    return owners


SHARED = first_exporters()


def filled_templates(
    app: Flask, cookie: str, service: Service, table: RowTable
) -> tuple[bytes, bytes]:
    """Download a table's template and fill in its first record in two copies.

    The first file changes the row's first imported value to the field's minimum
    plus one, which the checks accept. The second file puts text in that number
    column, which they reject.
    """
    client = app.test_client()
    client.set_cookie("session", cookie)
    url = f"/{service.hall}/{service.id}/rows/{table.name}/template.xlsx"
    response = client.get(url)
    assert response.status_code == 200
    spec = table.row_import
    assert spec is not None
    column = next(name for name in spec.columns if name != spec.key)
    position = spec.template_columns.index(column) + 1
    field = table.field(column)
    minimum = RESOLVE(field.checks["min"]) if "min" in field.checks else Decimal(0)
    files = []
    for value in (minimum + 1, "不是数字"):
        workbook = load_workbook(io.BytesIO(response.data))
        sheet = workbook.worksheets[0]
        assert sheet.max_row > 1, "the demo unit has no record to fill in"
        sheet.cell(row=2, column=position, value=value)
        buffer = io.BytesIO()
        workbook.save(buffer)
        files.append(buffer.getvalue())
    return files[0], files[1]


def send_import_files(
    app: Flask,
    cookie: str,
    service: Service,
    operation: Any,
    sent: Callable[[Any], Any],
) -> None:
    """Send a valid file, an invalid file and the discard of the stored import.

    Generated bodies are random bytes, which are no readable xlsx file, so only
    these cases reach the checks of a file's rows and a draft with an import.
    """
    table_name = operation.path.split("/")[-2]
    table = next(item for item in service.rows if item.name == table_name)
    valid, invalid = filled_templates(app, cookie, service, table)
    file_input = f"_import_{table.name}"

    imported = sent(
        operation.Case(
            body={"_action": "import", file_input: valid}, media_type=MULTIPART
        )
    )
    assert imported.status_code == 200
    assert "其中 1 行有变更" in imported.text
    found = re.search(r'id="draft-token" value="([^"]+)"', imported.text)
    assert found is not None, "the page after an import names no draft"
    draft = found.group(1)

    rejected = sent(
        operation.Case(
            body={"_action": "import", "_draft": draft, file_input: invalid},
            media_type=MULTIPART,
        )
    )
    assert rejected.status_code == 400
    assert "第 2 行" in rejected.text
    discarded = sent(
        operation.Case(
            body={"_action": "discard_import", "_draft": draft},
            media_type=MULTIPART,
        )
    )
    assert discarded.status_code == 200


@pytest.mark.parametrize("spec_id", sorted(SPECS))
def test_openapi_finds_no_server_error(app: Flask, spec_id: str) -> None:
    service = app.extensions["hall"].services[spec_id]
    document = openapi(service, RESOLVE)
    validate(document)
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    cookie, token = logged_in(app, service.hall)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(item) for item in document["paths"].values())

    def sent(case: Any) -> Any:
        if isinstance(case.body, dict):
            case.body["csrf_token"] = token
        response = case.call_and_validate(
            cookies={"session": cookie},
            headers={"X-CSRFToken": token},
            checks=CHECKS,
        )
        assert response.status_code < 500
        return response

    for operation in operations:
        method = operation.method.lower()
        if SHARED.get((method, operation.path), spec_id) != spec_id:
            continue
        described = document["paths"][operation.path][method]
        printing = method == "post" and "/print/" in operation.path
        examples = PRINT_EXAMPLES if printing else EXAMPLES
        send_cases(operation, GenerationMode.POSITIVE, examples, sent)
        # Without parameters or a body there is no input to make invalid.
        if "parameters" in described or "requestBody" in described:
            send_cases(operation, GenerationMode.NEGATIVE, examples, sent)
        if method == "post" and operation.path.endswith("/import"):
            send_import_files(app, cookie, service, operation, sent)


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
    assert sorted(paths["/unit/unit-ledger"]) == ["get", "post"]


def operations_of(document: dict[str, Any]) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
    }


@pytest.mark.parametrize("spec_id", sorted(SPECS))
def test_openapi_is_valid(spec_id: str) -> None:
    document = openapi(build_service(SPECS[spec_id]), RESOLVE)
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert operations_of(document)


def test_openapi_describes_application() -> None:
    document = openapi(build_service(SPECS["unit-base-change"]), RESOLVE)
    base = "/unit/unit-base-change"
    assert operations_of(document) == {
        f"GET {base}",
        f"POST {base}",
        f"POST {base}/confirm",
        f"GET {base}/drafts/{{token}}/review",
        f"POST {base}/calc",
        f"POST {base}/lookup/unit_ratios",
        f"POST {base}/rows/employees/add",
        f"POST {base}/rows/employees/remove",
        f"POST {base}/attachments/wage_list",
        f"GET {base}/rows/employees/template.xlsx",
        f"POST {base}/rows/employees/import",
        "GET /unit/drafts/{token}/attachments/{attachment_id}",
        "GET /unit/applications/{number}",
        "GET /unit/applications/{number}/attachments/{attachment_id}",
        "POST /unit/applications/{number}/revise",
        "POST /sms/send",
    }

    submit = document["paths"][base]["post"]["requestBody"]["content"]
    form = submit["multipart/form-data"]["schema"]
    assert form["required"][0] == "csrf_token"
    assert form["properties"]["wage_list"]["format"] == "binary"
    assert form["properties"]["_sms_code"]["pattern"] == "^[0-9]{6}$"
    assert form["properties"]["_agree"]["enum"] == ["on"]
    action = re.compile(form["properties"]["_action"]["pattern"])
    assert action.match("add_row:employees")
    assert action.match("page:employees:2")
    assert action.match("remove_attachment:17")
    assert not action.match("add_row:other")

    review = document["paths"][f"{base}/drafts/{{token}}/review"]["get"]
    assert [parameter["name"] for parameter in review["parameters"]] == [
        "token",
        "page_employees",
    ]
    assert sorted(review["responses"]) == ["200", "302", "404"]

    download = "/unit/drafts/{token}/attachments/{attachment_id}"
    media = document["paths"][download]["get"]["responses"]["200"]["content"]
    assert "application/pdf" in media
    assert "image/png" in media

    purpose = document["paths"]["/sms/send"]["post"]["requestBody"]["content"]
    schema = purpose["application/x-www-form-urlencoded"]["schema"]
    assert schema["properties"]["purpose"]["enum"] == ["unit-base-change"]


def import_operations(document: dict[str, Any]) -> set[str]:
    return {
        operation
        for operation in operations_of(document)
        if operation.endswith(("/template.xlsx", "/import"))
    }


@pytest.mark.parametrize("spec_id", sorted(SPECS))
def test_openapi_import_paths_follow_spec(spec_id: str) -> None:
    service = build_service(SPECS[spec_id])
    document = openapi(service, RESOLVE)
    expected = set()
    if service.kind == "apply" and not service.public:
        base = f"/{service.hall}/{service.id}/rows"
        for table in service.rows:
            if table.row_import is not None:
                expected.add(f"GET {base}/{table.name}/template.xlsx")
                expected.add(f"POST {base}/{table.name}/import")
    assert import_operations(document) == expected


def test_openapi_import_needs_import_key() -> None:
    spec = copy.deepcopy(SPECS["unit-base-change"])
    for table in spec["rows"]:
        table.pop("import", None)
    document = openapi(build_service(spec), RESOLVE)
    assert import_operations(document) == set()
    assert "POST /unit/unit-base-change/rows/employees/add" in operations_of(document)


def test_openapi_describes_import() -> None:
    document = openapi(build_service(SPECS["unit-base-change"]), RESOLVE)
    rows = "/unit/unit-base-change/rows/employees"

    template = document["paths"][f"{rows}/template.xlsx"]["get"]["responses"]
    assert sorted(template) == ["200", "302", "400", "503"]
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert list(template["200"]["content"]) == [xlsx]
    disposition = template["200"]["headers"]["Content-Disposition"]
    assert disposition["required"] is True
    assert disposition["schema"]["enum"] == [
        'attachment; filename="unit-base-change-employees.xlsx"'
    ]

    upload = document["paths"][f"{rows}/import"]["post"]
    assert sorted(upload["responses"]) == ["200", "302", "400", "413", "503"]
    for answer in ("200", "400"):
        assert list(upload["responses"][answer]["content"]) == ["text/html"]
    content = upload["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    body = content["multipart/form-data"]["schema"]
    assert body["required"] == ["csrf_token"]
    assert body["properties"]["_import_employees"]["format"] == "binary"
    assert "10240 KB" in body["properties"]["_import_employees"]["description"]
    assert body["properties"]["_action"]["enum"] == ["import", "discard_import"]
    assert body["properties"]["wage_list"]["format"] == "binary"
    assert "_draft" in body["properties"]


def test_openapi_describes_print_download() -> None:
    document = openapi(build_service(SPECS["unit-deposit-certificate"]), RESOLVE)
    page = "/unit/print/unit-deposit-certificate"
    assert operations_of(document) == {
        f"GET {page}",
        f"POST {page}",
        f"GET {page}/jobs/{{token}}",
        f"GET {page}/jobs/{{token}}/pdf",
        "GET /verify",
        "GET /verify/{code}",
    }
    answers = document["paths"][page]["post"]["responses"]
    issued = answers["200"]
    assert list(issued["content"]) == ["application/pdf"]
    disposition = issued["headers"]["Content-Disposition"]
    assert disposition["required"] is True
    assert answers["303"]["headers"]["Location"]["required"] is True
    finished = document["paths"][f"{page}/jobs/{{token}}/pdf"]["get"]["responses"]
    assert list(finished["200"]["content"]) == ["application/pdf"]
    assert sorted(finished) == ["200", "302", "404"]
    verify = document["paths"]["/verify/{code}"]["get"]
    assert verify["security"] == []
    assert sorted(verify["responses"]) == ["200", "404", "429"]


def test_openapi_describes_public_service() -> None:
    document = openapi(build_service(SPECS["person-forgot-password"]), RESOLVE)
    page = "/person/public/person-forgot-password"
    assert operations_of(document) == {f"GET {page}", f"POST {page}"}
    submit = document["paths"][page]["post"]
    assert submit["security"] == []
    assert "429" in submit["responses"]


def test_openapi_describes_query_paging() -> None:
    document = openapi(build_service(SPECS["unit-ledger"]), RESOLVE)
    parameters = document["paths"]["/unit/unit-ledger"]["get"]["parameters"]
    names = [parameter["name"] for parameter in parameters]
    assert names[:4] == ["run", "page", "sort", "dir"]
    export = document["paths"]["/unit/unit-ledger/export.csv"]["get"]["responses"]
    assert list(export["200"]["content"]) == ["text/csv"]
    disposition = export["200"]["headers"]["Content-Disposition"]
    assert disposition["required"] is True
    # 单位明细账查询.csv, percent-encoded as UTF-8.
    assert disposition["schema"]["enum"] == [
        'attachment; filename="unit-ledger.csv"; '
        "filename*=UTF-8''%E5%8D%95%E4%BD%8D%E6%98%8E"
        "%E7%BB%86%E8%B4%A6%E6%9F%A5%E8%AF%A2.csv"
    ]


def test_openapi_of_new_yaml_service(
    check_spec: Callable[..., Any], specs_root: Path
) -> None:
    # A copy of an application spec under a new id and title, with no code added.
    text = (REPO / "specs" / "unit" / "unit-employee-change.yaml").read_text("utf-8")
    text = text.replace("unit-employee-change", "unit-x")
    text = re.sub(r"(?m)^title: .*$", "title: 新增测试业务", text)
    spec, errors = check_spec(text)
    assert errors == []
    assert spec is not None
    document = openapi(build_service(spec), RESOLVE)
    validate(document)
    operations = operations_of(document)
    assert "POST /unit/unit-x" in operations
    assert "POST /unit/unit-x/confirm" in operations
    assert "POST /unit/unit-x/attachments/proof" in operations
    assert document["info"]["title"] == "新增测试业务"
