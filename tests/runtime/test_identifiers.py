"""Checks of ID numbers, USCCs, bank cards and mobiles."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.identifiers import (
    IdentifierInvalid,
    id_number_birth_date,
    id_number_sex,
    mask_id_number,
    normalise_bank_card,
    normalise_id_number,
    normalise_mobile,
    normalise_uscc,
)


def test_valid_id_number_is_male() -> None:
    # ID1
    number = normalise_id_number("11010519900101007X")
    assert number == "11010519900101007X"
    assert id_number_sex(number) == "男"
    assert id_number_birth_date(number) == dt.date(1990, 1, 1)


def test_lower_case_x_is_normalised() -> None:
    assert normalise_id_number(" 11010519900101007x ") == "11010519900101007X"


def test_legacy_15_digit_number_is_widened() -> None:
    widened = normalise_id_number("110105900101007")
    assert len(widened) == 18
    assert widened.startswith("11010519900101007")
    assert normalise_id_number(widened) == widened


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("110105199001010011", "checksum"),  # ID2: wrong check character
        ("110105199001000015", "birth_date"),  # ID3: day 00
        ("1101051990010100", "length"),
        ("11010519900101007A", "format"),
        ("000000199001010015", "checksum"),
    ],
)
def test_invalid_id_numbers(number: str, code: str) -> None:
    with pytest.raises(IdentifierInvalid) as raised:
        normalise_id_number(number)
    assert raised.value.code == code


def test_birth_date_in_future_rejected() -> None:
    with pytest.raises(IdentifierInvalid) as raised:
        normalise_id_number("11010519900101007X", today=dt.date(1989, 12, 31))
    assert raised.value.code == "birth_date"


def test_valid_uscc() -> None:
    assert normalise_uscc("91440200MA0000015W") == "91440200MA0000015W"  # U1


def test_uscc_wrong_check_character() -> None:
    with pytest.raises(IdentifierInvalid) as raised:
        normalise_uscc("91440200MA0000015X")  # U2
    assert raised.value.code == "checksum"


def test_valid_bank_card() -> None:
    assert normalise_bank_card("6217 0000 0000 0000 004") == "6217000000000000004"  # B1


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("6217000000000000001", "checksum"),  # B2
        ("621700000000", "length"),
        ("6217-0000-abcd", "format"),
    ],
)
def test_invalid_bank_cards(number: str, code: str) -> None:
    with pytest.raises(IdentifierInvalid) as raised:
        normalise_bank_card(number)
    assert raised.value.code == code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("008613800138000", "13800138000"),
    ],
)
def test_mobiles_normalised(raw: str, expected: str) -> None:
    assert normalise_mobile(raw) == expected


@pytest.mark.parametrize(
    "raw", ["12800138000", "1380013800", "23800138000", "138001380001"]
)
def test_invalid_mobiles(raw: str) -> None:
    with pytest.raises(IdentifierInvalid):
        normalise_mobile(raw)


def test_masked_id_keeps_area_and_tail() -> None:
    assert mask_id_number("11010519900101007X") == "110105********007X"
