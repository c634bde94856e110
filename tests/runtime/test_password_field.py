"""The password field type: kept as typed, length-checked, never shown again."""

from __future__ import annotations

import pytest

from engine.accounts import password_problem
from engine.fields import Invalid, parse_value
from engine.service import Field


def field(**checks: int) -> Field:
    return Field(name="secret", type="password", label="密码", checks=checks)


def test_spaces_are_kept() -> None:
    assert parse_value(field(), " Ab#12345 ") == " Ab#12345 "


def test_length_checks() -> None:
    with pytest.raises(Invalid) as short:
        parse_value(field(**{"min-length": 8}), "Ab#1")
    assert short.value.code == "min-length"
    with pytest.raises(Invalid) as long:
        parse_value(field(), "x" * 65)
    assert long.value.code == "max-length"


@pytest.mark.parametrize(
    ("password", "weak"),
    [
        ("Ab#12345", False),  # four classes
        ("abc#1234", False),  # lower case, symbol and digits
        ("abcd1234", True),  # two classes only
        ("Ab#1", True),  # too short
        ("Xy#020100000001", True),  # contains the login account
    ],
)
def test_password_strength(password: str, weak: bool) -> None:
    assert (password_problem(password, "020100000001") is not None) == weak
