"""A safe evaluator for the calculations and conditions written in specs.

Expressions are parsed with Python's `ast` module and only a whitelist of node types is
accepted, so there is no `eval`, no attribute access beyond `policy.NAME` and
`TABLE.FIELD`, no loops and no function but those in `FUNCTIONS`. Size is bounded by
`MAX_LENGTH` and `MAX_NODES`, and powers by `MAX_EXPONENT`, so evaluation time is bounded
too. Numbers are `Decimal`; a float never appears. An operand that is empty (`None`)
makes the arithmetic around it empty, so a half-filled form shows blank results.
"""

from __future__ import annotations

import ast
import datetime as dt
import decimal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.clock import business_date
from engine.money import round_half_up

MAX_LENGTH = 1000
MAX_NODES = 200
MAX_EXPONENT = 1200

_CONTEXT = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=999,
    Emin=-999,
    traps=[decimal.DivisionByZero, decimal.Overflow, decimal.InvalidOperation],
)


class ExpressionError(Exception):
    """An expression is not allowed, or failed while it was evaluated."""


def _sum(values: Sequence[Any]) -> Decimal | None:
    present = [value for value in _as_list(values) if value is not None]
    return sum(present, Decimal(0))


def _count(values: Sequence[Any]) -> Decimal:
    return Decimal(
        len([value for value in _as_list(values) if value not in (None, "")])
    )


def _round(value: Decimal | None, places: Decimal | int = 2) -> Decimal | None:
    if value is None:
        return None
    return round_half_up(_number(value), int(places))


def _min(*values: Any) -> Any:
    present = [value for value in values if value is not None]
    return min(present) if present else None


def _max(*values: Any) -> Any:
    present = [value for value in values if value is not None]
    return max(present) if present else None


def _abs(value: Decimal | None) -> Decimal | None:
    return None if value is None else abs(_number(value))


def _coalesce(*values: Any) -> Any:
    for value in values:
        if value not in (None, ""):
            return value
    return None


def _today() -> dt.date:
    return business_date()


def _this_month() -> str:
    return business_date().strftime("%Y-%m")


def _add_months(month: str | dt.date | None, count: Decimal | int) -> str | None:
    """Shift a `YYYY-MM` month (or a date's month) by whole months."""
    if month is None:
        return None
    if isinstance(month, dt.date):
        year, number = month.year, month.month
    else:
        year, number = (int(part) for part in str(month).split("-")[:2])
    index = year * 12 + (number - 1) + int(count)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _months(period: Any) -> Decimal | None:
    """Count the months of a month range such as a rental period, both ends included.

    An incomplete or reversed range counts as missing, so a calculation on it is empty.
    """
    if not isinstance(period, Mapping):
        return None
    try:
        start, end = (
            [int(part) for part in str(period.get(key) or "").split("-")[:2]]
            for key in ("from", "to")
        )
        first = start[0] * 12 + start[1]
        last = end[0] * 12 + end[1]
    except (ValueError, IndexError):
        return None
    return Decimal(last - first + 1) if last >= first else None


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "round_half_up": _round,
    "sum": _sum,
    "count": _count,
    "min": _min,
    "max": _max,
    "abs": _abs,
    "coalesce": _coalesce,
    "today": _today,
    "this_month": _this_month,
    "add_months": _add_months,
    "months": _months,
}

_ARITHMETIC = {
    ast.Add: lambda a, b: _CONTEXT.add(a, b),
    ast.Sub: lambda a, b: _CONTEXT.subtract(a, b),
    ast.Mult: lambda a, b: _CONTEXT.multiply(a, b),
    ast.Div: lambda a, b: _CONTEXT.divide(a, b),
}

_COMPARISONS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}

_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Attribute,
    ast.Constant,
    ast.Tuple,
    ast.List,
    ast.Load,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.And,
    ast.Or,
    *_COMPARISONS,
)


@dataclass(frozen=True)
class References:
    """What an expression reads: plain names, `policy.NAME` and `TABLE.FIELD`."""

    names: frozenset[str] = frozenset()
    policy: frozenset[str] = frozenset()
    columns: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Expression:
    """A checked expression, ready to evaluate many times."""

    text: str
    tree: ast.Expression = field(repr=False)
    references: References

    def evaluate(
        self,
        scope: Mapping[str, Any],
        policy: Mapping[str, Decimal] | None = None,
        tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    ) -> Any:
        """Evaluate with field values from `scope`, figures and repeating-row tables.

        Raises `ExpressionError` for a division by zero, an overflow or a value of the
        wrong kind; a missing operand gives `None` instead.
        """
        evaluator = _Evaluator(scope, policy or {}, tables or {})
        try:
            return evaluator.visit(self.tree.body)
        except decimal.DecimalException as error:
            raise ExpressionError(f"{self.text}: {type(error).__name__}") from None


def compile_expression(text: str) -> Expression:
    """Parse and check an expression; raise `ExpressionError` saying what is not allowed."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression must be non-empty text")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"an expression is at most {MAX_LENGTH} characters long")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(
            f"syntax error at column {error.offset}: {error.msg}"
        ) from None

    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(f"an expression has at most {MAX_NODES} parts")
    names: set[str] = set()
    policy: set[str] = set()
    columns: set[tuple[str, str]] = set()
    attribute_bases = set()
    for node in nodes:
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(
                f"{type(node).__name__} is not allowed in expressions"
            )
        if isinstance(node, ast.Attribute):
            if not isinstance(node.value, ast.Name):
                raise ExpressionError("only policy.NAME and TABLE.FIELD may use a dot")
            attribute_bases.add(id(node.value))
            if node.value.id == "policy":
                policy.add(node.attr)
            else:
                columns.add((node.value.id, node.attr))
        elif isinstance(node, ast.Call):
            _check_call(node)
        elif isinstance(node, ast.Constant):
            _check_constant(node)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            _check_exponent(node.right)
    function_names = {id(node.func) for node in nodes if isinstance(node, ast.Call)}
    for node in nodes:
        if (
            isinstance(node, ast.Name)
            and id(node) not in attribute_bases | function_names
        ):
            names.add(node.id)
    references = References(frozenset(names), frozenset(policy), frozenset(columns))
    return Expression(text, tree, references)


def _check_call(node: ast.Call) -> None:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        allowed = ", ".join(sorted(FUNCTIONS))
        raise ExpressionError(f"unknown function; the allowed ones are: {allowed}")
    if node.keywords:
        raise ExpressionError(f"{node.func.id}() takes no keyword arguments")


def _check_constant(node: ast.Constant) -> None:
    if isinstance(node.value, bool) or node.value is None:
        return
    if isinstance(node.value, (int, float, str)):
        if isinstance(node.value, str) and len(node.value) > 200:
            raise ExpressionError("text constants are at most 200 characters")
        return
    raise ExpressionError(f"constant {node.value!r} is not allowed")


def _check_exponent(node: ast.expr) -> None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    if not isinstance(node.value if isinstance(node, ast.Constant) else None, int):
        # A computed exponent is checked when evaluated.
        return
    if abs(node.value) > MAX_EXPONENT:
        raise ExpressionError(f"an exponent is at most {MAX_EXPONENT}")


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ExpressionError(f"expected a number, got {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    raise ExpressionError(f"expected a number, got {value!r}")


def _as_list(values: Any) -> list[Any]:
    if not isinstance(values, (list, tuple)):
        raise ExpressionError("sum() and count() take a column such as rows.amount")
    return list(values)


class _Evaluator:
    def __init__(
        self,
        scope: Mapping[str, Any],
        policy: Mapping[str, Decimal],
        tables: Mapping[str, Sequence[Mapping[str, Any]]],
    ) -> None:
        self.scope = scope
        self.policy = policy
        self.tables = tables

    def visit(self, node: ast.expr) -> Any:
        method = getattr(self, "visit_" + type(node).__name__)
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, float):
            return Decimal(repr(node.value))
        if isinstance(node.value, int) and not isinstance(node.value, bool):
            return Decimal(node.value)
        return node.value

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id not in self.scope:
            raise ExpressionError(f"unknown name {node.id!r}")
        return self.scope[node.id]

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        base = node.value.id  # type: ignore[attr-defined]
        if base == "policy":
            if node.attr not in self.policy:
                raise ExpressionError(f"unknown policy figure {node.attr!r}")
            return self.policy[node.attr]
        if base not in self.tables:
            raise ExpressionError(f"unknown table {base!r}")
        return [row.get(node.attr) for row in self.tables[base]]

    def visit_Tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self.visit(element) for element in node.elts)

    def visit_List(self, node: ast.List) -> tuple[Any, ...]:
        return tuple(self.visit(element) for element in node.elts)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        if operand is None:
            return None
        number = _number(operand)
        return _CONTEXT.minus(number) if isinstance(node.op, ast.USub) else number

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left = self.visit(node.left)
        right = self.visit(node.right)
        if left is None or right is None:
            return None
        left, right = _number(left), _number(right)
        if isinstance(node.op, ast.Pow):
            if right != right.to_integral_value() or abs(right) > MAX_EXPONENT:
                raise ExpressionError(
                    f"exponents are whole numbers up to {MAX_EXPONENT}"
                )
            return _CONTEXT.power(left, right)
        return _ARITHMETIC[type(node.op)](left, right)

    def visit_BoolOp(self, node: ast.BoolOp) -> bool:
        if isinstance(node.op, ast.And):
            return all(self.visit(value) for value in node.values)
        return any(self.visit(value) for value in node.values)

    def visit_Compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        for operator, right_node in zip(node.ops, node.comparators):
            right = self.visit(right_node)
            if (left is None or right is None) and not isinstance(
                operator, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)
            ):
                return False
            try:
                if not _COMPARISONS[type(operator)](left, right):
                    return False
            except TypeError:
                raise ExpressionError(
                    f"cannot compare {left!r} with {right!r}"
                ) from None
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return (
            self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)
        )

    def visit_Call(self, node: ast.Call) -> Any:
        function = FUNCTIONS[node.func.id]  # type: ignore[attr-defined]
        arguments = [self.visit(argument) for argument in node.args]
        try:
            return function(*arguments)
        except (TypeError, ValueError) as error:
            raise ExpressionError(f"{node.func.id}(): {error}") from None  # type: ignore[attr-defined]
