"""Amounts in Chinese capitals follow the rules of cheques and bank certificates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from renderers.pdf.capitals import amount_in_capitals


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0", "零元整"),
        ("0.05", "伍分"),  # no 零元 before an amount under one yuan
        ("0.50", "伍角整"),
        ("16", "壹拾陆元整"),  # a leading ten is written 壹拾
        ("325.04", "叁佰贰拾伍元零肆分"),  # a zero jiao between yuan and fen
        ("1409.50", "壹仟肆佰零玖元伍角整"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),  # trailing zeros of yuan need no 零
        ("6007.14", "陆仟零柒元壹角肆分"),  # one 零 for a run of zeros
        ("30000", "叁万元整"),
        ("107000.53", "壹拾万柒仟元伍角叁分"),
        ("1000100", "壹佰万零壹佰元整"),  # zeros at the start of the 万 group
        ("10000500", "壹仟万零伍佰元整"),
        ("100000000", "壹亿元整"),
        ("100000001", "壹亿零壹元整"),  # an empty 万 group between two digits
        ("123456789.01", "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元零壹分"),
        ("46429.85", "肆万陆仟肆佰贰拾玖元捌角伍分"),
        ("-12.30", "负壹拾贰元叁角整"),
        ("0.005", "壹分"),  # rounded half-up to fen first
    ],
)
def test_amount_in_capitals(amount: str, expected: str) -> None:
    assert amount_in_capitals(Decimal(amount)) == expected


def test_amount_too_large_raises() -> None:
    with pytest.raises(ValueError, match="10\\^16"):
        amount_in_capitals(Decimal("10000000000000000"))
