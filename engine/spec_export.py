"""Describe a service's submission as JSON Schema and its endpoints as OpenAPI.

Both describe the form inputs as a browser sends them: every value is text, and a
number's bounds appear as `x-minimum` and `x-maximum` beside a pattern. A row
field is an input named TABLE-INDEX-FIELD, and a range X is the two inputs X_from
and X_to.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.fields import DEFAULT_MAX_LENGTH
from engine.service import RANGE_TYPES, Field, Service

JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"

_PATTERNS = {
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "month": r"^[0-9]{4}-(0[1-9]|1[0-2])$",
    "id-number": r"^[0-9]{17}[0-9X]$",
    "uscc": r"^[0-9A-HJ-NPQRTUWXY]{18}$",
    "mobile": r"^1[3-9][0-9]{9}$",
    "bank-card": r"^[0-9]{16,19}$",
}
_PLACES = {"money": 2, "percent": 3}


def _input_schema(
    spec_field: Field, resolve: Callable[[Any], Decimal]
) -> dict[str, Any]:
    """Describe the text input of one field (one side of a range for a range)."""
    schema: dict[str, Any] = {"type": "string", "title": spec_field.label}
    if spec_field.help:
        schema["description"] = spec_field.help
    kind = spec_field.type
    checks = spec_field.checks
    if kind in ("text", "textarea"):
        schema["maxLength"] = checks.get("max-length", DEFAULT_MAX_LENGTH[kind])
        if "min-length" in checks:
            schema["minLength"] = checks["min-length"]
        if "pattern" in checks:
            schema["pattern"] = f"^(?:{checks['pattern']})$"
    elif kind in ("number", "money", "percent"):
        places = _PLACES.get(kind, checks.get("places", 0))
        fraction = rf"(\.[0-9]{{1,{places}}})?" if places else ""
        schema["pattern"] = rf"^-?[0-9]+{fraction}$"
        for bound in ("min", "max"):
            if bound in checks:
                schema[f"x-{bound}imum"] = str(resolve(checks[bound]))
    elif kind == "choice" and spec_field.choices:
        schema["enum"] = [choice.value for choice in spec_field.choices]
    elif kind == "checkbox":
        schema["enum"] = ["on", ""]
    elif kind in RANGE_TYPES:
        schema["pattern"] = _PATTERNS["month" if kind == "month-range" else "date"]
    elif kind in _PATTERNS:
        schema["pattern"] = _PATTERNS[kind]
    return schema


def _editable(fields: list[Field]) -> list[Field]:
    return [item for item in fields if not item.read_only and item.type != "file"]


def submission_schema(
    service: Service, resolve: Callable[[Any], Decimal]
) -> dict[str, Any]:
    """Return a JSON Schema of the form inputs a submission of `service` sends."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for item in _editable(service.fields):
        for name in item.input_names:
            properties[name] = _input_schema(item, resolve)
            # A conditional field is required only while shown, which a schema of
            # the inputs alone cannot tell.
            if item.required and item.visible_when is None:
                required.append(name)
    rows: dict[str, Any] = {}
    for table in service.rows:
        for item in _editable(table.fields):
            for name in item.input_names:
                key = f"^{table.name}-[0-9]{{1,4}}-{name}$"
                rows[key] = _input_schema(item, resolve)
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA,
        "title": service.title,
        "description": f"Form inputs of {service.id}, version {service.version}.",
        "type": "object",
        "properties": properties,
        "required": required,
    }
    if rows:
        schema["patternProperties"] = rows
    return schema


def openapi(service: Service, resolve: Callable[[Any], Decimal]) -> dict[str, Any]:
    """Return an OpenAPI 3.1 description of the endpoints of `service`."""
    form = submission_schema(service, resolve)
    form.pop("$schema")
    base = f"/{service.hall}/{service.id}"
    html = {"text/html": {"schema": {"type": "string"}}}
    answers = {
        "200": {"description": "The page.", "content": html},
        "302": {"description": "Not logged in: a redirect to the login page."},
        "400": {
            "description": "The inputs have errors, listed on the page.",
            "content": html,
        },
    }
    paths: dict[str, Any] = {}
    if service.kind in ("query", "calc"):
        parameters = _query_parameters(form)
        run = {
            "name": "run",
            "in": "query",
            "schema": {"type": "string", "enum": ["1"]},
        }
        paths[base] = {
            "get": {
                "operationId": f"{service.id}-page",
                "summary": service.title,
                "parameters": [run, *parameters],
                "responses": answers,
            }
        }
        if service.result and service.result.table_columns and service.result.export:
            for extension in ("csv", "xlsx"):
                paths[f"{base}/export.{extension}"] = {
                    "get": {
                        "operationId": f"{service.id}-export-{extension}",
                        "summary": f"{service.title}: all rows as {extension}",
                        "parameters": parameters,
                        "responses": {
                            "200": {"description": "The rows as a file."},
                            "302": answers["302"],
                            "400": {"description": "The inputs have errors."},
                        },
                    }
                }
    elif service.kind in ("apply", "account"):
        # An application shows its inputs for review; an account service runs at once.
        after = "show them" if service.kind == "apply" else "carry out the service"
        paths[base] = {
            "get": {
                "operationId": f"{service.id}-page",
                "summary": service.title,
                "responses": answers,
            },
            "post": {
                "operationId": f"{service.id}-submit",
                "summary": f"{service.title}: check the inputs, then {after}",
                "requestBody": _form_body(form),
                "responses": answers,
            },
        }
    if service.kind in ("apply", "calc", "query") and (
        service.calculations or any(table.calculations for table in service.rows)
    ):
        paths[f"{base}/calc"] = {
            "post": {
                "operationId": f"{service.id}-calc",
                "summary": "Recalculate the calculated fields (an htmx fragment).",
                "requestBody": _form_body(form),
                "responses": {
                    "200": {"description": "The changed cells.", "content": html}
                },
            }
        }
    paths.update(_lookup_paths(service, base, form, html))
    return {
        "openapi": "3.1.0",
        "info": {"title": service.title, "version": str(service.version)},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "session"}
            }
        },
        "security": [{"session": []}],
    }


def _lookup_paths(
    service: Service, base: str, form: dict[str, Any], html: dict[str, Any]
) -> dict[str, Any]:
    """Describe the endpoint of each lookup that a field's change runs."""
    paths: dict[str, Any] = {}
    tables = [(None, service.lookups)] + [
        (table.name, table.lookups) for table in service.rows
    ]
    for table, lookups in tables:
        for lookup in lookups:
            if lookup.trigger is None:
                continue
            body = dict(form, properties=dict(form["properties"]))
            body["required"] = []
            if table is not None:
                body["properties"]["_row"] = {
                    "type": "string",
                    "pattern": "^[0-9]{1,4}$",
                }
                body["required"] = ["_row"]
            paths[f"{base}/lookup/{lookup.name}"] = {
                "post": {
                    "operationId": f"{service.id}-lookup-{lookup.name}",
                    "summary": f"Run the lookup {lookup.name} (an htmx fragment).",
                    "requestBody": _form_body(body),
                    "responses": {
                        "200": {"description": "The filled cells.", "content": html},
                        "400": {"description": "The row does not exist."},
                    },
                }
            }
    return paths


def _query_parameters(form: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(form.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": schema}
        for name, schema in form["properties"].items()
    ]


def _form_body(form: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": form}},
    }
