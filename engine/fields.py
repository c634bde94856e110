"""Parsing and checking of one field's input, with messages in Chinese.

Every spec field type has a parser that turns the submitted text into a typed value
(`Decimal` for amounts, `date`, `str` for identifiers and codes) or raises `Invalid`
with a message code. Messages name the field by its label and state what is expected; a
spec may override any code under the field's `messages`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.clock import business_date
from engine.identifiers import (
    IdentifierInvalid,
    normalise_bank_card,
    normalise_id_number,
    normalise_mobile,
    normalise_uscc,
)
from engine.money import round_half_up
from engine.service import Field

MESSAGES = {
    "required": "请填写{label}",
    "required_choice": "请选择{label}",
    "required_checkbox": "请勾选{label}",
    "invalid": "{label}格式不正确",
    "number": "{label}应为数字，例如 12 或 12.5",
    "money": "{label}应为金额（元），最多两位小数，例如 5000.00",
    "too-large": "{label}数值过大，整数部分最多{max_digits}位",
    "percent": "{label}应为百分比数字，例如 12 表示 12%",
    "places": "{label}最多保留{places}位小数",
    "min": "{label}不能小于{min}",
    "max": "{label}不能大于{max}",
    "between": "{label}应在{min}至{max}之间",
    "min-length": "{label}至少{min_length}个字符",
    "max-length": "{label}最多{max_length}个字符",
    "characters": "{label}不能包含控制字符或不可见字符（如零宽空格、文字方向控制符）",
    "pattern": "{label}格式不正确",
    "date": "{label}应为日期，格式为 YYYY-MM-DD，例如 2026-01-31",
    "month": "{label}应为月份，格式为 YYYY-MM，例如 2026-01",
    "not-future": "{label}不能晚于今天",
    "year": "{label}的年份应在{min_year}至{max_year}之间",
    "range-order": "{label}的开始不能晚于结束",
    "range-missing": "请填写{label}的开始和结束",
    "max-months": "{label}最长为{max_months}个月",
    "choice": "{label}的选项无效，请从列表中选择",
    "halfwidth": "{label}只能包含半角数字和字母，请切换到半角输入后重新填写",
    "same-as": "{label}与{other}不一致",
    "id-number.length": "{label}应为18位居民身份证号码",
    "id-number.format": "{label}前17位应为数字，最后一位为数字或X",
    "id-number.checksum": "{label}校验位不正确，请核对后重新输入",
    "id-number.birth_date": "{label}中的出生日期无效",
    "id-number.area": "{label}中的地区代码无效",
    "uscc.length": "{label}应为18位统一社会信用代码",
    "uscc.format": "{label}只能包含数字和大写字母（不含 I、O、Z、S、V）",
    "uscc.checksum": "{label}校验位不正确，请核对后重新输入",
    "bank-card.format": "{label}只能包含数字",
    "bank-card.length": "{label}应为16至19位数字",
    "bank-card.checksum": "{label}校验位不正确，请核对银行卡号",
    "mobile.format": "{label}应为11位手机号码，以1开头",
}

# Maximum text length where a spec sets no max-length.
DEFAULT_MAX_LENGTH = {"text": 100, "textarea": 1000, "password": 64}
# Amounts and numbers have at most this many digits before the decimal point, so that
# rounding an input to its places stays within the 28 digits of the default context.
MAX_INTEGER_DIGITS = 15
# Digits with optional thousands separators in groups of three, then decimals.
_DECIMAL_TEXT = re.compile(r"[-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
# Dates and months must fall within these years. Other years are typing mistakes, and
# a query that adds a month or a day to the end of year 9999 would overflow.
MIN_YEAR, MAX_YEAR = 1900, 2199
# Line breaks and tabs are allowed in a textarea only.
TEXTAREA_CONTROLS = frozenset("\n\r\t")
TRUE_WORDS = {"on", "1", "true", "y", "yes"}


class Invalid(ValueError):
    """An input failed; `code` selects the message and `params` fill it in."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def message_for(field: Field, error: Invalid) -> str:
    """Return the message for a failed field: the spec's override or the default."""
    code = error.code
    template = field.messages.get(code) or field.messages.get(code.split(".")[0])
    if template is None and code.split(".")[0] in ("min", "max", "between"):
        template = field.messages.get("min") or field.messages.get("max")
    if template is None:
        template = MESSAGES.get(code) or MESSAGES["invalid"]
    params = {"label": field.label, **error.params}
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


BoundResolver = Callable[[Any], Decimal]


def parse_value(field: Field, raw: Any, bound: BoundResolver | None = None) -> Any:
    """Parse a non-empty input of `field` into its typed value, or raise `Invalid`.

    Without `bound` the min and max checks are skipped, so a calculation can still
    show what an out-of-range amount would give.
    """
    parser = PARSERS[field.type]
    value = parser(field, raw)
    if bound is not None:
        _check_bounds(field, value, bound)
    return value


def is_empty(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, dict):
        return all(is_empty(item) for item in raw.values())
    return isinstance(raw, str) and raw.strip() == ""


def _text(field: Field, raw: Any) -> str:
    text = str(raw).strip()
    limit = field.checks.get("max-length", DEFAULT_MAX_LENGTH.get(field.type, 100))
    if len(text) > limit:
        raise Invalid("max-length", max_length=limit)
    allowed = TEXTAREA_CONTROLS if field.type == "textarea" else frozenset()
    if has_hidden_characters(text, allowed):
        raise Invalid("characters")
    minimum = field.checks.get("min-length")
    if minimum is not None and len(text) < minimum:
        raise Invalid("min-length", min_length=minimum)
    pattern = field.checks.get("pattern")
    if pattern and not re.fullmatch(pattern, text):
        raise Invalid("pattern")
    return text


def has_hidden_characters(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    """Tell whether text contains a control or invisible character outside `allowed`."""
    return any(_hidden_character(char) and char not in allowed for char in text)


def _hidden_character(char: str) -> bool:
    """Tell whether a character is a control or an invisible format character.

    Unicode category Cc covers NUL and the other controls, Cf the zero-width spaces,
    byte-order marks and the bidirectional marks, overrides and isolates.
    """
    return unicodedata.category(char) in ("Cc", "Cf")


def _password(field: Field, raw: Any) -> str:
    # Spaces count as part of a password, so nothing is stripped.
    text = str(raw)
    limit = field.checks.get("max-length", DEFAULT_MAX_LENGTH["password"])
    if len(text) > limit:
        raise Invalid("max-length", max_length=limit)
    minimum = field.checks.get("min-length")
    if minimum is not None and len(text) < minimum:
        raise Invalid("min-length", min_length=minimum)
    return text


def _decimal(raw: Any, code: str) -> Decimal:
    """Read a plain decimal; exponents, NaN, infinities and stray commas are invalid."""
    text = str(raw).strip().replace("，", ",")
    if not _DECIMAL_TEXT.fullmatch(text):
        raise Invalid(code)
    text = text.replace(",", "")
    integer = text.lstrip("+-").split(".")[0].lstrip("0")
    if len(integer) > MAX_INTEGER_DIGITS:
        raise Invalid("too-large", max_digits=MAX_INTEGER_DIGITS)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Invalid(code) from None
    # A negative zero would be stored and shown as "-0.00".
    return value.copy_abs() if value.is_zero() else value


def _places(value: Decimal, places: int) -> Decimal:
    if value != round_half_up(value, places):
        raise Invalid("places", places=places)
    return round_half_up(value, places) if places else value.to_integral_value()


def _number(field: Field, raw: Any) -> Decimal:
    value = _decimal(raw, "number")
    return _places(value, field.checks.get("places", 0))


def _money(field: Field, raw: Any) -> Decimal:
    value = _decimal(raw, "money")
    return _places(value, 2)


def _percent(field: Field, raw: Any) -> Decimal:
    value = _decimal(str(raw).strip().rstrip("%"), "percent")
    if value.as_tuple().exponent < -3:  # type: ignore[operator]
        raise Invalid("places", places=3)
    return value


def _date(field: Field, raw: Any) -> dt.date:
    text = str(raw).strip()
    try:
        value = dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        value = None
    if value is None:
        raise Invalid("date")
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise Invalid("year", min_year=MIN_YEAR, max_year=MAX_YEAR)
    if field.checks.get("not-future") and value > business_date():
        raise Invalid("not-future")
    return value


def _month(field: Field, raw: Any) -> str:
    text = str(raw).strip()
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise Invalid("month")
    if not MIN_YEAR <= int(match.group(1)) <= MAX_YEAR:
        raise Invalid("year", min_year=MIN_YEAR, max_year=MAX_YEAR)
    return text


def _range(field: Field, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Invalid("invalid")
    part = _month if field.type == "month-range" else _date
    start, end = raw.get("from"), raw.get("to")
    if is_empty(start) or is_empty(end):
        raise Invalid("range-missing")
    value = {"from": part(field, start), "to": part(field, end)}
    if value["from"] > value["to"]:
        raise Invalid("range-order")
    limit = field.checks.get("max-months")
    if limit and _months_between(value["from"], value["to"]) > limit:
        raise Invalid("max-months", max_months=limit)
    return value


def _months_between(start: Any, end: Any) -> int:
    first = start if isinstance(start, str) else start.strftime("%Y-%m")
    last = end if isinstance(end, str) else end.strftime("%Y-%m")
    year_a, month_a = (int(part) for part in first.split("-"))
    year_b, month_b = (int(part) for part in last.split("-"))
    return (year_b - year_a) * 12 + (month_b - month_a) + 1


def _choice(field: Field, raw: Any) -> str:
    # Choices from a lookup are checked by the form against the values it offered.
    text = str(raw).strip()
    if field.choices and text not in {choice.value for choice in field.choices}:
        raise Invalid("choice")
    return text


def _checkbox(field: Field, raw: Any) -> bool:
    return str(raw).strip().lower() in TRUE_WORDS


def _identifier(
    normalise: Callable[[str], str], prefix: str
) -> Callable[[Field, Any], str]:
    def parse(field: Field, raw: Any) -> str:
        text = str(raw).strip()
        # Full-width and other non-ASCII digits pass str.isdigit() but are not digits
        # of an identifier, so they are rejected before any check digit is computed.
        if not text.isascii():
            raise Invalid("halfwidth")
        try:
            return normalise(text)
        except IdentifierInvalid as error:
            raise Invalid(f"{prefix}.{error.code}") from None

    return parse


def _file(field: Field, raw: Any) -> str:
    return str(raw)


PARSERS: dict[str, Callable[[Field, Any], Any]] = {
    "text": _text,
    "textarea": _text,
    "password": _password,
    "number": _number,
    "money": _money,
    "percent": _percent,
    "date": _date,
    "month": _month,
    "date-range": _range,
    "month-range": _range,
    "choice": _choice,
    "checkbox": _checkbox,
    "id-number": _identifier(normalise_id_number, "id-number"),
    "uscc": _identifier(normalise_uscc, "uscc"),
    "bank-card": _identifier(normalise_bank_card, "bank-card"),
    "mobile": _identifier(normalise_mobile, "mobile"),
    "file": _file,
}

NUMERIC_TYPES = {"number", "money", "percent"}


def _check_bounds(field: Field, value: Any, bound: BoundResolver) -> None:
    if field.type not in NUMERIC_TYPES:
        return
    low = field.checks.get("min")
    high = field.checks.get("max")
    if field.type == "money" and low is None:
        low = 0
    minimum = bound(low) if low is not None else None
    maximum = bound(high) if high is not None else None
    too_low = minimum is not None and value < minimum
    too_high = maximum is not None and value > maximum
    if not (too_low or too_high):
        return
    shown = {"min": _show(field, minimum), "max": _show(field, maximum)}
    if minimum is not None and maximum is not None:
        raise Invalid("between", **shown)
    raise Invalid("min" if too_low else "max", **shown)


def _show(field: Field, bound: Decimal | None) -> str:
    if bound is None:
        return ""
    if field.type == "money":
        return f"{round_half_up(bound, 2):,}元"
    if field.type == "percent":
        return f"{bound.normalize():f}%"
    return f"{bound.normalize():f}"


def format_input(field: Field, value: Any) -> str:
    """Return the text an input shows for a typed value (no thousands separators)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, Decimal):
        if field.type == "money":
            return str(round_half_up(value, 2))
        if field.type == "percent":
            return f"{value.normalize():f}"
        return (
            f"{value.normalize():f}"
            if value == value.to_integral_value()
            else str(value)
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
