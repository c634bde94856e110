"""The marshmallow schema of the hand-written loan trial form, with its Chinese messages.

Written for this one form without the engine, as a developer would write it by hand.
The rules and messages must stay those of `specs/person/person-loan-trial.yaml` under
the engine; tests/benchmarks/test_baseline_drift.py compares the two pages.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates_schema

# Digits, optionally grouped by thousands separators, then optional decimals.
DECIMAL_TEXT = re.compile(r"[-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
# Rounding to two places stays within the 28 digits of the default decimal context.
MAX_INTEGER_DIGITS = 15
TRUE_WORDS = {"on", "1", "true", "y", "yes"}

HOMES = {"first": "首套住房", "second": "二套住房"}
METHODS = {"equal-instalments": "等额本息", "equal-principal": "等额本金"}


def quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def read_decimal(text: str, label: str, invalid: str) -> Decimal:
    """Read a plain decimal. Exponents, NaN, infinities and stray commas are invalid."""
    text = text.strip().replace("，", ",")
    if not DECIMAL_TEXT.fullmatch(text):
        raise ValidationError(invalid)
    text = text.replace(",", "")
    if len(text.lstrip("+-").split(".")[0].lstrip("0")) > MAX_INTEGER_DIGITS:
        raise ValidationError(f"{label}数值过大，整数部分最多{MAX_INTEGER_DIGITS}位")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(invalid) from None
    return value.copy_abs() if value.is_zero() else value


class Money(fields.Field):
    """An amount in yuan with at most two decimals, between `minimum` and `maximum`."""

    def __init__(
        self,
        label: str,
        minimum: Decimal = Decimal(0),
        maximum: Decimal | None = None,
        **kwargs: Any,
    ) -> None:
        self.label, self.minimum, self.maximum = label, minimum, maximum
        message = f"请填写{label}"
        super().__init__(error_messages={"required": message, "null": message}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        label = self.label
        amount = read_decimal(
            str(value), label, f"{label}应为金额（元），最多两位小数，例如 5000.00"
        )
        if amount != quantize(amount, 2):
            raise ValidationError(f"{label}最多保留2位小数")
        amount = quantize(amount, 2)
        low, high = self.minimum, self.maximum
        if high is not None and not low <= amount <= high:
            raise ValidationError(f"{label}应在{low:,.2f}元至{high:,.2f}元之间")
        if amount < low:
            raise ValidationError(f"{label}不能小于{low:,.2f}元")
        return amount


class Years(fields.Field):
    """A whole number of years between 1 and the policy's longest loan term."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        self.label = label
        message = f"请填写{label}"
        super().__init__(error_messages={"required": message, "null": message}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        label = self.label
        number = read_decimal(str(value), label, f"{label}应为数字，例如 12 或 12.5")
        if number != quantize(number, 0):
            raise ValidationError(f"{label}最多保留0位小数")
        number = number.to_integral_value()
        longest: Decimal = self.parent.longest_term  # type: ignore[union-attr]
        if not 1 <= number <= longest:
            raise ValidationError(f"{label}应在1至{longest.normalize():f}之间")
        return number


class OneOf(fields.Field):
    """One of the offered values of a select."""

    def __init__(self, label: str, offered: dict[str, str], **kwargs: Any) -> None:
        self.label, self.offered = label, offered
        message = f"请选择{label}"
        super().__init__(error_messages={"required": message, "null": message}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = str(value).strip()
        if text not in self.offered:
            raise ValidationError(f"{self.label}的选项无效，请从列表中选择")
        return text


class Checkbox(fields.Field):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        return str(value).strip().lower() in TRUE_WORDS


class LoanTrialSchema(Schema):
    """The inputs of the loan trial. The caller leaves empty inputs out of the data.

    The co-borrower's income is required only while the box is ticked, and the form
    drops it otherwise, so the check sits in `require_co_income`.
    """

    class Meta:
        unknown = EXCLUDE

    house_price = Money(
        "房屋总价（元）", Decimal(10000), Decimal(100000000), required=True
    )
    home = OneOf("购房套数", HOMES, required=True)
    income = Money("借款人月收入（元）", Decimal(1), required=True)
    co_borrower = Checkbox()
    co_income = Money("共同借款人月收入（元）", Decimal(1))
    existing_debt = Money("现有每月其他债务还款（元）")
    term_years = Years("贷款期限（年）", required=True)
    method = OneOf("还款方式", METHODS, required=True)

    def __init__(self, longest_term: Decimal, co_borrower: bool) -> None:
        super().__init__()
        self.longest_term = longest_term
        self.co_borrower = co_borrower

    @validates_schema(skip_on_field_errors=False)
    def require_co_income(self, data: dict[str, Any], **kwargs: Any) -> None:
        # Marshmallow lists this message after a field error of co_income, and the
        # page shows only the first message of a field.
        if self.co_borrower and data.get("co_income") is None:
            raise ValidationError({"co_income": ["请填写共同借款人月收入（元）"]})
