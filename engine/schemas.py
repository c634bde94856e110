"""Marshmallow schemas built from a service's spec, for validation on the server."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, validates_schema
from marshmallow import fields as mfields

from engine.fields import BoundResolver, Invalid, is_empty, message_for, parse_value
from engine.service import Field, RowTable, Service


@dataclass
class ValidationScope:
    """Context of one validation run: policy bounds, offered choices, hidden fields."""

    bound: BoundResolver
    choices: dict[str, set[str]] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)


_scope: contextvars.ContextVar[ValidationScope] = contextvars.ContextVar("scope")


@contextmanager
def validation_scope(scope: ValidationScope) -> Iterator[None]:
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


class SpecField(mfields.Field):
    """A marshmallow field that parses and checks one spec field."""

    def __init__(self, spec_field: Field, **kwargs: Any) -> None:
        self.spec_field = spec_field
        required_code = {
            "choice": "required_choice",
            "checkbox": "required_checkbox",
        }.get(spec_field.type, "required")
        message = message_for(spec_field, Invalid(required_code))
        super().__init__(
            required=spec_field.required and spec_field.visible_when is None,
            allow_none=False,
            error_messages={"required": message, "null": message},
            **kwargs,
        )

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> Any:
        scope = _scope.get()
        try:
            parsed = parse_value(self.spec_field, value, scope.bound)
        except Invalid as error:
            raise ValidationError(message_for(self.spec_field, error)) from None
        offered = scope.choices.get(self.spec_field.name)
        if offered is not None and parsed not in offered:
            raise ValidationError(message_for(self.spec_field, Invalid("choice")))
        if (
            self.spec_field.type == "checkbox"
            and self.spec_field.required
            and not parsed
        ):
            raise ValidationError(
                message_for(self.spec_field, Invalid("required_checkbox"))
            )
        return parsed


class FormSchema(Schema):
    """Base of generated schemas: unknown keys are dropped, never stored."""

    class Meta:
        unknown = EXCLUDE

    conditional: dict[str, Field] = {}
    # A field whose checks name `same-as` must repeat that other field exactly.
    repeats: dict[str, tuple[Field, Field]] = {}

    @validates_schema(skip_on_field_errors=False)
    def require_visible_fields(self, data: dict[str, Any], **kwargs: Any) -> None:
        # A field with visible-when is required only while it is shown.
        hidden = _scope.get().hidden
        errors = {}
        for name, spec_field in self.conditional.items():
            if spec_field.required and name not in hidden and is_empty(data.get(name)):
                errors[name] = [message_for(spec_field, Invalid("required"))]
        if errors:
            raise ValidationError(errors)

    @validates_schema(skip_on_field_errors=True)
    def match_repeated_fields(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors = {}
        for name, (spec_field, other) in self.repeats.items():
            if data.get(name) != data.get(other.name):
                error = Invalid("same-as", other=other.label)
                errors[name] = [message_for(spec_field, error)]
        if errors:
            raise ValidationError(errors)


def _editable(fields: list[Field]) -> list[Field]:
    return [item for item in fields if not item.read_only and item.type != "file"]


def _schema_class(
    name: str, fields: list[Field], extra: dict[str, Any]
) -> type[Schema]:
    declared: dict[str, Any] = {
        item.name: SpecField(item) for item in _editable(fields)
    }
    declared.update(extra)
    conditional = {item.name: item for item in fields if item.visible_when is not None}
    schema = FormSchema.from_dict(declared, name=name)
    schema.conditional = conditional
    by_name = {item.name: item for item in fields}
    schema.repeats = {
        item.name: (item, by_name[item.checks["same-as"]])
        for item in fields
        if item.checks.get("same-as") in by_name
    }
    return schema


def build_row_schema(service: Service, table: RowTable) -> type[Schema]:
    return _schema_class(f"{service.id}.{table.name}", table.fields, {})


def build_schema(service: Service) -> type[Schema]:
    """Build the schema of a service's whole form: fields plus each row table."""
    tables = {
        table.name: mfields.List(
            mfields.Nested(build_row_schema(service, table)), load_default=list
        )
        for table in service.rows
    }
    return _schema_class(service.id, service.fields, tables)


def make_bound_resolver(figures: dict[str, Decimal]) -> BoundResolver:
    """Resolve a `checks` bound written as a number or as `policy.NAME`."""

    def resolve(bound: Any) -> Decimal:
        if isinstance(bound, str) and bound.startswith("policy."):
            return figures[bound.removeprefix("policy.")]
        return Decimal(str(bound))

    return resolve
