"""The safe evaluator of spec expressions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.expressions import ExpressionError, compile_expression


def evaluate(text: str, **scope: object) -> object:
    return compile_expression(text).evaluate(scope, {"deposit_places": Decimal(0)})


def test_decimal_arithmetic_is_exact() -> None:
    assert evaluate("a + b", a=Decimal("0.1"), b=Decimal("0.2")) == Decimal("0.3")


def test_literals_become_decimal() -> None:
    assert evaluate("0.1 * 3") == Decimal("0.3")


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("86.50"), Decimal("87")),  # half rounds up, never to even
        (Decimal("87.50"), Decimal("88")),
        (Decimal("-86.50"), Decimal("-87")),  # a reversal mirrors its entry
        (Decimal("86.49"), Decimal("86")),
    ],
)
def test_round_half_up(amount: Decimal, expected: Decimal) -> None:
    assert evaluate("round_half_up(x, 0)", x=amount) == expected


def test_empty_operand_gives_empty_result() -> None:
    assert evaluate("base * 12 / 100", base=None) is None


def test_sum_over_table_column() -> None:
    expression = compile_expression("sum(rows.amount)")
    rows = [{"amount": Decimal("1.10")}, {"amount": None}, {"amount": Decimal("2")}]
    assert expression.evaluate({}, {}, {"rows": rows}) == Decimal("3.10")


def test_policy_reference() -> None:
    expression = compile_expression("policy.base_cap * 2")
    assert expression.references.policy == {"base_cap"}
    assert expression.evaluate({}, {"base_cap": Decimal("21900")}) == Decimal("43800")


def test_references_are_listed() -> None:
    references = compile_expression(
        "round_half_up(base * ratio / 100, policy.deposit_places) + sum(rows.x)"
    ).references
    assert references.names == {"base", "ratio"}
    assert references.policy == {"deposit_places"}
    assert references.columns == {("rows", "x")}


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",  # calls outside the whitelist
        "(1).__class__",  # attribute access on anything but a name
        "[x for x in rows]",  # comprehensions are loops
        "lambda: 1",
        "a if b else c; 1",  # statements do not parse in eval mode
        "open('/etc/passwd')",
        "2 ** 100000",  # a huge power
        "x" * 1001,  # too long
        "+".join(["1"] * 150),  # too many nodes
        "round_half_up(x, places=2)",  # keywords are not accepted
    ],
)
def test_unsafe_expressions_rejected(text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(text)


def test_division_by_zero_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError):
        evaluate("a / b", a=Decimal(1), b=Decimal(0))


def test_text_cannot_be_multiplied() -> None:
    with pytest.raises(ExpressionError):
        evaluate("'a' * 1000000")


def test_computed_power_is_bounded() -> None:
    with pytest.raises(ExpressionError):
        evaluate("2 ** n", n=Decimal(5000))


def test_equal_instalment_formula() -> None:
    # L1's payment from the textbook formula: 1,604.36 after rounding.
    payment = compile_expression(
        "round_half_up(p * r * (1 + r) ** n / ((1 + r) ** n - 1), 2)"
    )
    scope = {"p": Decimal(300000), "r": Decimal("0.026") / 12, "n": Decimal(240)}
    assert payment.evaluate(scope) == Decimal("1604.36")


def test_month_functions() -> None:
    assert evaluate("add_months(m, -11)", m="2026-12") == "2026-01"
    assert evaluate("add_months(m, 1)", m="2026-12") == "2027-01"


def test_comparison_with_empty_is_false() -> None:
    assert evaluate("x > 1", x=None) is False
    assert evaluate("x == 'first'", x=None) is False
