"""Read operation parameters into exact types, rejecting what cannot be read."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from connectors.base import Rejected
from engine.money import to_decimal

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def required(params: Mapping[str, Any], name: str, label: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise Rejected(f"请填写{label}", field=name)
    return value


def text(params: Mapping[str, Any], name: str, label: str) -> str:
    return str(required(params, name, label)).strip()


def amount(
    params: Mapping[str, Any], name: str, label: str, default: Decimal | None = None
) -> Decimal:
    """Read a non-negative amount in yuan with at most two decimals."""
    value = params.get(name)
    if (value is None or value == "") and default is not None:
        return default
    value = required(params, name, label)
    try:
        number = to_decimal(value)
    except (TypeError, ValueError):
        raise Rejected(f"{label}应为金额", field=name) from None
    if not number.is_finite() or number < 0:
        raise Rejected(f"{label}不能为负数", field=name)
    if number != number.quantize(Decimal("0.01")):
        raise Rejected(f"{label}最多保留两位小数", field=name)
    return number.quantize(Decimal("0.01"))


def whole_number(params: Mapping[str, Any], name: str, label: str) -> int:
    value = required(params, name, label)
    if isinstance(value, bool):
        raise Rejected(f"{label}应为整数", field=name)
    try:
        return int(str(value).strip())
    except ValueError:
        raise Rejected(f"{label}应为整数", field=name) from None


def month(params: Mapping[str, Any], name: str, label: str) -> dt.date:
    """Read a 'YYYY-MM' month as the date of its first day."""
    value = params.get(name)
    if isinstance(value, dt.date):
        return value.replace(day=1)
    match = MONTH.match(str(required(params, name, label)).strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise Rejected(f"{label}应为“年-月”格式，例如 2026-01", field=name)
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def month_text(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def id_number(value: Any, today: dt.date, field: str = "id_number") -> str:
    """Validate a resident ID number; a lower-case x is stored as X."""
    number = str(value or "").strip().upper()
    if not number:
        raise Rejected("请填写证件号码", field=field)
    try:
        number = ric.validate(number)
    except ValidationError:
        raise Rejected(f"证件号码 {number} 无效，请核对", field=field) from None
    if ric.get_birth_date(number) > today:
        raise Rejected(f"证件号码 {number} 的出生日期晚于今天，请核对", field=field)
    return number


def mobile(value: Any, field: str = "mobile") -> str:
    """Normalise a mainland mobile number: drop +86 or 0086, then 11 digits."""
    number = re.sub(r"[\s-]", "", str(value or ""))
    for prefix in ("+86", "0086"):
        number = number.removeprefix(prefix)
    if not re.fullmatch(r"1[3-9]\d{9}", number):
        raise Rejected("手机号码应为 11 位数字，以 1 开头", field=field)
    return number
