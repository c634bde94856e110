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

from engine import openapi_paths as routes
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
    """Return an OpenAPI 3.1 description of every endpoint of `service`.

    The paths follow from the spec alone: its kind, fields, row tables, lookups,
    calculations, attachments, row table imports and verification method.
    """
    form = submission_schema(service, resolve)
    form.pop("$schema")
    base = f"/{service.hall}/{service.id}"
    paths: dict[str, Any] = {}
    if service.kind == "print":
        paths.update(routes.print_paths(service, form))
        paths.update(routes.verification_paths())
    elif service.public:
        paths.update(routes.public_paths(service, form))
    else:
        if service.kind in ("query", "calc"):
            paths.update(routes.query_paths(service, base, form))
        elif service.kind == "apply":
            paths.update(routes.apply_paths(service, base, form))
            paths.update(routes.attachment_paths(service, base))
            paths.update(routes.import_paths(service, base, form))
            paths.update(routes.application_paths(service))
        elif service.kind == "account":
            paths.update(routes.account_paths(service, base, form))
        paths.update(routes.calculation_paths(service, base, form))
        paths.update(routes.lookup_paths(service, base, form))
        paths.update(routes.row_paths(service, base, form))
        paths.update(routes.sms_code_paths(service))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": service.title,
            "version": str(service.version),
            "description": service.description
            or f"Endpoints of the {service.hall} hall service {service.id}.",
        },
        "paths": paths,
        "components": routes.components(),
        "security": [{"session": []}],
    }


