"""The password field type and the strength rule of new passwords."""

from __future__ import annotations

import pytest

from engine.accounts import password_problem
from engine.fields import Invalid, parse_value
from engine.service import Field


def test_password_kept_with_spaces() -> None:
    field = Field(name="new_password", type="password", label="新密码")
    assert parse_value(field, " Ab#12345 ") == " Ab#12345 "


def test_password_length_limit() -> None:
    field = Field(name="new_password", type="password", label="新密码")
    with pytest.raises(Invalid) as raised:
        parse_value(field, "A" * 65)
    assert raised.value.code == "max-length"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Ab#1234", "新密码至少8位"),  # seven characters
        ("abcdefgh1", "新密码须包含大写字母、小写字母、数字和符号中的至少三种"),
        ("ABCDEFGH#", "新密码须包含大写字母、小写字母、数字和符号中的至少三种"),
        ("Ab#0201000001", "新密码不能包含登录账号"),  # the unit account inside
        ("Abcdefg1", None),  # upper, lower and digits
        ("abc#defg1", None),  # lower, symbol and digits
    ],
)
def test_strength_rule(password: str, problem: str | None) -> None:
    assert password_problem(password, "0201000001") == problem


def test_password_min_length_check() -> None:
    field = Field(
        name="secret", type="password", label="密码", checks={"min-length": 8}
    )
    with pytest.raises(Invalid) as raised:
        parse_value(field, "Ab#1")
    assert raised.value.code == "min-length"


@pytest.mark.parametrize("password", ["Ab#12345", "Xy#020100000001"])
def test_strength_of_person_passwords(password: str) -> None:
    # A depositor's login account is the 12-digit personal account number.
    problem = password_problem(password, "020100000001")
    expected = None if password == "Ab#12345" else "新密码不能包含登录账号"
    assert problem == expected
