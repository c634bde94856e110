"""Decimal amounts and the fund's rounding rule."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")


def round_half_up(amount: Decimal, places: int = 2) -> Decimal:
    """Round half away from zero (四舍五入), so a reversal cancels its entry exactly.

    `ROUND_HALF_UP` in the decimal module rounds ties away from zero for negative
    amounts too: -86.50 becomes -87, the mirror image of 86.50.
    """
    if places < 0 or places > 8:
        raise ValueError(f"places must be 0 to 8, got {places}")
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def to_decimal(value: object) -> Decimal:
    """Convert an int, a str or a Decimal to Decimal; floats are refused as inexact."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"amounts must not be {type(value).__name__}: {value!r}")
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {value!r}") from None


def format_yuan(amount: Decimal | None, places: int = 2) -> str:
    """Format an amount with thousands separators, as the hall shows money."""
    if amount is None:
        return ""
    return f"{round_half_up(amount, places):,}"
