"""Normalise and check resident ID numbers, USCCs, bank cards and mobiles."""

from __future__ import annotations

import datetime as dt
import re

from stdnum import luhn
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from engine.clock import business_date

_SEPARATORS = re.compile(r"[\s\-]")


class IdentifierInvalid(ValueError):
    """An identifier failed its check; `code` tells which part (for messages)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def normalise_id_number(raw: str, today: dt.date | None = None) -> str:
    """Return the 18-character resident ID with an upper-case X, or raise.

    A legacy 15-digit number (born 19xx, no check character) is widened to 18 digits.
    The birth date must be a real date no later than `today`, by default the
    business date.
    """
    number = _SEPARATORS.sub("", raw).upper()
    if not number.isascii():
        # Full-width and superscript digits pass isdigit() but not int().
        raise IdentifierInvalid("format")
    if len(number) == 15 and number.isdigit():
        body = number[:6] + "19" + number[6:]
        # calc_check_digit ignores the last character, so pass a placeholder.
        number = body + ric.calc_check_digit(body + "0")
    if len(number) != 18:
        raise IdentifierInvalid("length")
    if not number[:17].isdigit() or not re.fullmatch(r"[0-9X]", number[17]):
        raise IdentifierInvalid("format")
    if ric.calc_check_digit(number) != number[17]:
        raise IdentifierInvalid("checksum")
    try:
        birth = ric.get_birth_date(number)
    except StdnumError:
        raise IdentifierInvalid("birth_date") from None
    if birth > (today or business_date()):
        raise IdentifierInvalid("birth_date")
    try:
        ric.get_birth_place(number)
    except StdnumError:
        raise IdentifierInvalid("area") from None
    return number


def id_number_sex(number: str) -> str:
    """Return 男 for an odd sequence digit and 女 for an even one."""
    return "男" if int(number[16]) % 2 == 1 else "女"


def id_number_birth_date(number: str) -> dt.date:
    return ric.get_birth_date(number)


def normalise_uscc(raw: str) -> str:
    code = _SEPARATORS.sub("", raw).upper()
    if not code.isascii():
        raise IdentifierInvalid("format")
    if len(code) != 18:
        raise IdentifierInvalid("length")
    try:
        return uscc.validate(code)
    except uscc.InvalidChecksum:
        raise IdentifierInvalid("checksum") from None
    except StdnumError:
        raise IdentifierInvalid("format") from None


def normalise_bank_card(raw: str) -> str:
    number = _SEPARATORS.sub("", raw)
    if not number.isascii() or not number.isdigit():
        raise IdentifierInvalid("format")
    if not 16 <= len(number) <= 19:
        raise IdentifierInvalid("length")
    if not luhn.is_valid(number):
        raise IdentifierInvalid("checksum")
    return number


def normalise_mobile(raw: str) -> str:
    """Strip a +86 or 0086 prefix and separators; expect 1[3-9] and nine digits."""
    number = _SEPARATORS.sub("", raw)
    for prefix in ("+86", "0086"):
        if number.startswith(prefix):
            number = number[len(prefix) :]
    if not re.fullmatch(r"1[3-9][0-9]{9}", number):
        raise IdentifierInvalid("format")
    return number


def mask_id_number(number: str) -> str:
    """Keep the area code and the last four characters, as public pages show IDs."""
    return (
        number[:6] + "*" * 8 + number[-4:] if len(number) == 18 else "*" * len(number)
    )


def mask_mobile(number: str) -> str:
    return number[:3] + "****" + number[-4:] if len(number) == 11 else "***"
