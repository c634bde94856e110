"""Column types that keep money exact on every database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from engine.money import FEN


class Money(TypeDecorator[Decimal]):
    """An amount in yuan stored as a whole number of fen.

    SQLite has no exact decimal type, so amounts are kept as integers everywhere; sums
    in SQL stay exact, and reading divides by 100 without floats. Binding an amount with
    more than two decimals raises instead of rounding silently.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        amount = Decimal(value) if not isinstance(value, Decimal) else value
        fen = amount * 100
        if fen != fen.to_integral_value():
            raise ValueError(f"amount {amount} has more than two decimals")
        return int(fen)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(FEN)


class Rate(TypeDecorator[Decimal]):
    """A percentage such as 12 or 2.525, stored as text so no digit is lost."""

    impl = String(16)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return str(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)
