"""The HPF loan trial calculation for a logged-in depositor."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.base import Caller, Rejected
from connectors.embedded import finance, inputs
from connectors.embedded.codes import BINDING_LIMIT
from connectors.embedded.context import CoreContext
from connectors.embedded.scope import caller_account

HOMES = ("first", "second")


def trial(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Compute the loanable amount, the binding limit and the repayment schedule.

    The balance, birth date and retirement group come from the caller's own records;
    rates and limits are the policy figures in force today.
    """
    account, person = caller_account(context, caller)
    policy, today = context.policy, context.today
    request = _read_request(params)
    years = request["term_years"]

    max_years = finance.max_term_years(
        policy, person.birth_date, person.retirement_group, today
    )
    if max_years < 1:
        raise Rejected("已超过可申请公积金贷款的年龄", field="term_years")
    if years > max_years:
        raise Rejected(f"贷款期限最长为 {max_years} 年", field="term_years")
    months = years * finance.MONTHS_A_YEAR
    rate = finance.loan_rate(policy, request["home"], months, today)

    income = request["income"]
    if request["co_borrower"]:
        income += request["co_income"]
    capacity = finance.repayment_capacity(
        income,
        policy.value("loan_income_share", today),
        request["existing_debt"],
        rate,
        months,
    )
    maximum_name = (
        "loan_max_with_co_borrower" if request["co_borrower"] else "loan_max_single"
    )
    limits = finance.loan_limits(
        policy.value(maximum_name, today),
        account.balance,
        policy.value("loan_balance_multiple", today),
        request["house_price"],
        policy.value(f"loan_down_payment_{request['home']}", today),
        capacity,
    )
    amount = limits.amount
    schedule = (
        finance.schedule_for(request["method"], amount, rate, months)
        if amount > 0
        else []
    )
    interest = finance.total_interest(schedule)
    return {
        "loanable_amount": amount,
        "binding_limit": limits.binding,
        "binding_limit_label": BINDING_LIMIT[limits.binding],
        "limit_maximum": limits.maximum,
        "limit_balance": limits.balance,
        "limit_price": limits.price,
        "limit_capacity": limits.capacity,
        "rate": rate,
        "months": months,
        "first_payment": schedule[0].payment if schedule else Decimal("0.00"),
        "total_interest": interest,
        "total_payment": amount + interest,
        "max_term_years": max_years,
        "schedule": [row.as_dict() for row in schedule],
    }


def _read_request(params: Mapping[str, Any]) -> dict[str, Any]:
    home = str(params.get("home") or "")
    if home not in HOMES:
        raise Rejected("请选择首套或二套住房", field="home")
    method = str(params.get("method") or "")
    if method not in finance.METHODS:
        raise Rejected("请选择等额本息或等额本金", field="method")
    price = inputs.amount(params, "house_price", "房屋总价")
    if price <= 0:
        raise Rejected("房屋总价应大于 0", field="house_price")
    years = inputs.whole_number(params, "term_years", "贷款期限")
    if years < 1:
        raise Rejected("贷款期限至少为 1 年", field="term_years")
    co_borrower = _flag(params.get("co_borrower"))
    co_income = Decimal("0.00")
    if co_borrower:
        co_income = inputs.amount(params, "co_income", "共同借款人月收入")
    return {
        "home": home,
        "method": method,
        "house_price": price,
        "term_years": years,
        "income": inputs.amount(params, "income", "月收入"),
        "co_borrower": co_borrower,
        "co_income": co_income,
        "existing_debt": inputs.amount(
            params, "existing_debt", "现有月还款额", default=Decimal("0.00")
        ),
    }


def _flag(value: Any) -> bool:
    """Read a checkbox that may arrive as a bool or as form text."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes", "y")
