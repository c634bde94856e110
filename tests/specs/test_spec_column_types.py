"""Every result column of the shipped specs that shows an amount is typed money.

A money column is shown with thousands separators and two decimals. A column left as
text shows the core's plain decimal string, such as 9397.00, on one page while the
others show 9,397.00.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import engine

REPO_SPECS = Path(engine.__file__).parent.parent / "specs"
# The unit the hall writes after the label of every amount.
YUAN = "（元）"
# The last word of a column name that shows an amount, as in `total_interest`.
AMOUNT_WORDS = {
    "amount",
    "arrears",
    "balance",
    "base",
    "credit",
    "debit",
    "deposit",
    "deposits",
    "interest",
    "limit",
    "paid",
    "payment",
    "penalty",
    "principal",
    "withdrawable",
}
# A word that makes a column a count, as in `months_paid`.
COUNT_WORDS = {"count", "month", "months"}


def result_columns() -> list[Any]:
    """List each card and table column of every spec, with the spec and column as id."""
    found = []
    for path in sorted(REPO_SPECS.glob("*/*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        result = spec.get("result") or {}
        table = result.get("table") or {}
        for column in (result.get("card") or []) + (table.get("columns") or []):
            name = f"{path.stem}:{column['name']}"
            found.append(pytest.param(column, id=name))
    return found


def names_amount(name: str) -> bool:
    words = name.split("_")
    return words[-1] in AMOUNT_WORDS and not COUNT_WORDS & set(words)


def test_specs_have_result_columns() -> None:
    assert len(result_columns()) > 100


@pytest.mark.parametrize("column", result_columns())
def test_amount_column_typed_money(column: dict[str, Any]) -> None:
    kind = column.get("type", "text")
    if names_amount(column["name"]):
        assert kind == "money", f"{column['name']} names an amount"
    if column["label"].endswith(YUAN):
        assert kind == "money", f"{column['label']} is in yuan"
    if kind == "money":
        assert column["label"].endswith(YUAN), f"{column['name']} has no unit"
