"""Monthly deposits as the account-opening spec calculates them (D1 to D4)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from connectors.base import Caller
from engine.clock import business_date
from engine.forms import FormRuntime, FormState, Row
from engine.policy import Policy
from engine.service import build_service

SPECS = Path(__file__).resolve().parents[2] / "specs"


def calculate(base: str, ratio: str, places: int) -> tuple[Decimal, Decimal, Decimal]:
    """Run the spec's row and total calculations for one employee."""
    spec = yaml.safe_load(
        (SPECS / "unit" / "unit-open-account.yaml").read_text(encoding="utf-8")
    )
    service = build_service(spec)
    figures = Policy.from_file(SPECS / "policy.yaml").values_at(business_date())
    figures["deposit_places"] = Decimal(places)
    runtime = FormRuntime(service, router=None, caller=Caller("unit"), figures=figures)  # type: ignore[arg-type]
    state = FormState(service)
    state.values.update(unit_ratio=Decimal(ratio), person_ratio=Decimal(ratio))
    state.rows["employees"] = [Row(0, values={"base": Decimal(base), "id_number": "x"})]
    runtime.calculate(state)
    row = state.rows["employees"][0].values
    return row["unit_deposit"], row["person_deposit"], state.values["total_deposit"]


@pytest.mark.parametrize(
    ("base", "ratio", "places", "unit", "total"),
    [
        ("6000", "12", 0, "720.00", "1440.00"),  # D1
        ("5678", "5", 0, "284.00", "568.00"),  # D2, whole yuan
        ("5678", "5", 2, "283.90", "567.80"),  # D2, fen by the policy switch
        ("1730", "5", 0, "87.00", "174.00"),  # D3: 86.50 rounds up, not to even
        ("1750", "5", 0, "88.00", "176.00"),  # D4: the floor base, 87.50 rounds to 88
    ],
)
def test_monthly_deposit(
    base: str, ratio: str, places: int, unit: str, total: str
) -> None:
    unit_part, person_part, total_deposit = calculate(base, ratio, places)
    assert unit_part == Decimal(unit)
    assert person_part == Decimal(unit)
    assert total_deposit == Decimal(total)
