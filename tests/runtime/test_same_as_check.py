"""The same-as check: a field typed twice must match the field it repeats."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from marshmallow import ValidationError

from engine.schemas import (
    ValidationScope,
    build_schema,
    make_bound_resolver,
    validation_scope,
)
from engine.service import Field, Service


def load(**data: str) -> dict[str, Any]:
    service = Service(
        id="person-example",
        version=1,
        title="示例",
        hall="person",
        kind="account",
        group="示例",
        order=1,
        fields=[
            Field(name="secret", type="password", label="新密码", required=True),
            Field(
                name="again",
                type="password",
                label="再次输入新密码",
                required=True,
                checks={"same-as": "secret"},
            ),
        ],
    )
    scope = ValidationScope(make_bound_resolver({"x": Decimal(1)}), {}, set())
    with validation_scope(scope):
        return build_schema(service)().load(data)


def test_matching_fields_pass() -> None:
    assert load(secret="Ab#12345", again="Ab#12345")["again"] == "Ab#12345"


def test_different_fields_fail() -> None:
    with pytest.raises(ValidationError) as error:
        load(secret="Ab#12345", again="Ab#12346")
    assert error.value.messages == {"again": ["再次输入新密码与新密码不一致"]}


def test_missing_field_reports_required_only() -> None:
    with pytest.raises(ValidationError) as error:
        load(secret="Ab#12345")
    assert error.value.messages == {"again": ["请填写再次输入新密码"]}
