"""A unit's change of its deposit ratios, checked against the policy range."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import Caller, Rejected
from connectors.embedded import inputs, review
from connectors.embedded.context import CoreContext
from connectors.embedded.models import DepositChange, ReviewItem
from connectors.embedded.scope import caller_unit, unit_by_account

RATIO_CHANGE = "unit.ratio_change"
# Ratios are whole or decimal percent with at most two places, such as 7.5.
RATIO_PLACES = Decimal("0.01")


def change_ratios(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Queue new unit and personal ratios of the caller's unit for review."""
    unit = caller_unit(context, caller)
    number = inputs.text(params, "application_number", "申报编号")
    earlier = review.already_submitted(context, caller, RATIO_CHANGE, number)
    if earlier is not None:
        return earlier
    effective = inputs.month(params, "effective_month", "生效月份")
    if effective < context.today.replace(day=1):
        raise Rejected("生效月份不能早于本月", field="effective_month")
    unit_ratio = _ratio(context, params, "new_unit_ratio", "单位", effective)
    person_ratio = _ratio(context, params, "new_person_ratio", "个人", effective)
    if (unit_ratio, person_ratio) == (unit.unit_ratio, unit.person_ratio):
        raise Rejected("新缴存比例与现行比例相同，无需调整", field="new_unit_ratio")
    payload = {
        "effective_month": inputs.month_text(effective),
        "old_unit_ratio": unit.unit_ratio,
        "old_person_ratio": unit.person_ratio,
        "unit_ratio": unit_ratio,
        "person_ratio": person_ratio,
    }
    return review.submit(context, caller, RATIO_CHANGE, number, payload)


def _ratio(
    context: CoreContext,
    params: Mapping[str, Any],
    name: str,
    who: str,
    month: dt.date,
) -> Decimal:
    """Read a ratio in percent and check it against the policy range of `month`."""
    label = f"{who}缴存比例"
    try:
        ratio = Decimal(str(inputs.required(params, name, label)).strip())
    except InvalidOperation:
        raise Rejected(f"{label}应为百分比数字，例如 12", field=name) from None
    if not ratio.is_finite() or ratio != ratio.quantize(RATIO_PLACES):
        raise Rejected(f"{label}最多保留两位小数", field=name)
    prefix = "unit" if name == "new_unit_ratio" else "person"
    low = context.policy.value(f"{prefix}_ratio_min", month)
    high = context.policy.value(f"{prefix}_ratio_max", month)
    if not low <= ratio <= high:
        raise Rejected(
            f"{label}应在{low.normalize():f}%至{high.normalize():f}%之间", field=name
        )
    return ratio.normalize()


def approve_ratio_change(context: CoreContext, item: ReviewItem) -> None:
    """Set the unit's new ratios and record the change for the whole unit."""
    unit = unit_by_account(context, item.unit_account or "")
    payload = item.payload
    old = f"单位{unit.unit_ratio.normalize():f}%/个人{unit.person_ratio.normalize():f}%"
    unit.unit_ratio = Decimal(payload["unit_ratio"])
    unit.person_ratio = Decimal(payload["person_ratio"])
    new = f"单位{unit.unit_ratio.normalize():f}%/个人{unit.person_ratio.normalize():f}%"
    context.session.add(
        DepositChange(
            unit_id=unit.id,
            account_id=None,
            change_type="ratio",
            effective_month=payload["effective_month"],
            old_value=old,
            new_value=new,
            recorded_on=context.today,
            application_number=item.application_number,
        )
    )
