"""The fund's calculations against the worked examples of the domain rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from connectors.embedded import finance
from engine.money import round_half_up


@pytest.mark.parametrize(
    ("base", "ratio", "places", "part"),
    [
        (D("6000"), D("12"), 0, D("720.00")),  # D1
        (D("5678"), D("5"), 0, D("284.00")),  # D2, whole yuan
        (D("5678"), D("5"), 2, D("283.90")),  # D2, fen
        (D("1730"), D("5"), 0, D("87.00")),  # D3: 86.50 rounds up, not to even
        (D("1750"), D("5"), 0, D("88.00")),  # D4: 87.50 on the clamped base
    ],
)
def test_monthly_deposit_parts(base: D, ratio: D, places: int, part: D) -> None:
    deposit = finance.monthly_deposit(base, ratio, ratio, places)
    assert deposit.unit == part
    assert deposit.person == part
    assert deposit.total == part * 2


def test_monthly_deposit_d1_total() -> None:
    assert finance.monthly_deposit(D("6000"), D("12"), D("12"), 0).total == D("1440.00")


def test_clamp_base_d4() -> None:
    assert finance.clamp_base(D("1500"), D("1750"), D("21900")) == D("1750")
    assert finance.clamp_base(D("30000"), D("1750"), D("21900")) == D("21900")
    assert finance.clamp_base(D("6000"), D("1750"), D("21900")) == D("6000")


def test_negative_rounds_away_from_zero() -> None:
    assert round_half_up(D("-86.50"), 0) == D("-87")
    assert round_half_up(D("-86.50"), 0) + round_half_up(D("86.50"), 0) == 0


def test_base_limits_follow_base_year(policy) -> None:
    assert finance.base_limits(policy, dt.date(2025, 6, 1)) == (
        D("1620.00"),
        D("21000.00"),
    )
    assert finance.base_limits(policy, dt.date(2025, 7, 1)) == (
        D("1750.00"),
        D("21900.00"),
    )


def test_equal_instalments_l1() -> None:
    schedule = finance.equal_instalment_schedule(D("300000"), D("2.60"), 240)
    assert len(schedule) == 240
    assert schedule[0].payment == D("1604.36")
    assert schedule[0].interest == D("650.00")
    assert schedule[0].principal == D("954.36")
    assert schedule[-1].payment == D("1605.69")
    assert schedule[-1].balance == 0
    assert finance.total_interest(schedule) == D("85047.73")


def test_equal_principal_l2() -> None:
    schedule = finance.equal_principal_schedule(D("300000"), D("2.60"), 240)
    assert {row.principal for row in schedule} == {D("1250.00")}
    assert schedule[0].payment == D("1900.00")
    assert schedule[1].payment == D("1897.29")
    assert schedule[-1].payment == D("1252.71")
    assert finance.total_interest(schedule) == D("78325.00")


def test_equal_principal_uneven_share_sums_exactly() -> None:
    schedule = finance.equal_principal_schedule(D("100000"), D("2.60"), 360)
    assert sum(row.principal for row in schedule) == D("100000")
    assert schedule[-1].balance == 0
    # Principal 277.777… and interest 216.666… are each rounded to fen.
    assert schedule[0].principal == D("277.78")
    assert schedule[0].interest == D("216.67")
    assert schedule[0].payment == D("494.45")


def test_equal_instalments_l3_payment() -> None:
    schedule = finance.equal_instalment_schedule(D("100000"), D("2.10"), 60)
    assert schedule[0].payment == D("1757.15")


def test_equal_instalments_l3_interest_by_stated_rule() -> None:
    # Rounded payment, interest rounded each month and the rest paid in the last month:
    # the same rule reproduces every figure of L1.
    schedule = finance.equal_instalment_schedule(D("100000"), D("2.10"), 60)
    assert finance.total_interest(schedule) == D("5429.31")


@pytest.mark.xfail(
    strict=True,
    reason="5,429.25 is the unrounded closed form A*n - P, not the monthly-rounded "
    "schedule that L1 follows; the worked example needs one rule for both",
)
def test_equal_instalments_l3_interest_as_listed() -> None:
    schedule = finance.equal_instalment_schedule(D("100000"), D("2.10"), 60)
    assert finance.total_interest(schedule) == D("5429.25")


def test_keep_term_prepayment_l5() -> None:
    schedule = finance.equal_instalment_schedule(D("300000"), D("2.60"), 240)
    before = finance.balance_after(schedule, 36)
    assert before == D("264307.79")
    rest = finance.repay_keeping_term(before, D("50000"), D("2.60"), 204)
    assert rest[0].principal + rest[0].balance == D("214307.79")
    assert rest[0].payment == D("1300.86")
    assert len(rest) == 204


def test_keep_term_prepayment_l5_listed_balance() -> None:
    # From the listed balance the new payment is the same.
    rest = finance.repay_keeping_term(D("264307.61"), D("50000"), D("2.60"), 204)
    assert rest[0].payment == D("1300.86")
    assert len(rest) == 204


@pytest.mark.xfail(
    strict=True,
    reason="264,307.61 comes from the unrounded payment; with the rounded 1,604.36 the "
    "schedule of L1 leaves 264,307.79 after 36 months",
)
def test_keep_term_prepayment_l5_balance_as_listed() -> None:
    schedule = finance.equal_instalment_schedule(D("300000"), D("2.60"), 240)
    assert finance.balance_after(schedule, 36) == D("264307.61")


def test_keep_payment_prepayment_shortens_term() -> None:
    schedule = finance.equal_instalment_schedule(D("300000"), D("2.60"), 240)
    before = finance.balance_after(schedule, 36)
    rest = finance.repay_keeping_payment(
        before, D("50000"), D("2.60"), 204, schedule[0].payment
    )
    assert len(rest) < 204
    assert all(row.payment == D("1604.36") for row in rest[:-1])
    assert rest[-1].payment <= D("1604.36")
    assert rest[-1].balance == 0


def test_full_prepayment_leaves_no_schedule() -> None:
    assert finance.repay_keeping_term(D("1000.00"), D("1000.00"), D("2.60"), 12) == []


def test_prepayment_above_balance_raises() -> None:
    with pytest.raises(ValueError, match="at most"):
        finance.repay_keeping_term(D("1000.00"), D("1000.01"), D("2.60"), 12)


def test_capacity_l6() -> None:
    assert finance.present_value(D("5000"), D("2.60"), 360) == D("1248939.30")
    capacity = finance.repayment_capacity(D("10000"), D("50"), D("0"), D("2.60"), 360)
    assert capacity == D("1248939.30")


def test_capacity_without_spare_income_is_zero() -> None:
    capacity = finance.repayment_capacity(D("4000"), D("50"), D("2500"), D("2.60"), 360)
    assert capacity == D("0.00")


def test_loan_limits_name_binding_bound() -> None:
    limits = finance.loan_limits(
        D("300000"), D("12000"), D("15"), D("500000"), D("20"), D("1248939.30")
    )
    assert limits.balance == D("180000.00")
    assert limits.price == D("400000.00")
    assert limits.amount == D("180000.00")
    assert limits.binding == "balance"


def test_interest_i1_carried_balance() -> None:
    assert finance.settle_interest(D("10000"), [], D("1.5"), dt.date(2026, 6, 30)) == D(
        "150.00"
    )


def test_interest_i2_counts_187_days() -> None:
    credit = (dt.date(2025, 12, 25), D("1440"))
    assert (dt.date(2026, 6, 30) - credit[0]).days == 187
    interest = finance.settle_interest(D("0"), [credit], D("1.5"), dt.date(2026, 6, 30))
    assert interest == D("11.22")


def test_interest_withdrawal_counts_negative() -> None:
    movements = [(dt.date(2025, 12, 25), D("-1440"))]
    interest = finance.settle_interest(
        D("10000"), movements, D("1.5"), dt.date(2026, 6, 30)
    )
    assert interest == D("138.78")


def test_interest_of_account_closed_mid_year() -> None:
    # 10,000 held from 1 July to 30 December: 182 days at 1.5% / 360.
    interest = finance.settle_interest(
        D("10000"),
        [],
        D("1.5"),
        dt.date(2026, 6, 30),
        closing_date=dt.date(2025, 12, 30),
    )
    assert interest == D("75.83")


@pytest.mark.parametrize(
    ("birth", "group", "retires"),
    [
        (dt.date(1964, 12, 20), "male", dt.date(2024, 12, 20)),  # before the reform
        (dt.date(1965, 1, 10), "male", dt.date(2025, 2, 10)),  # first month: +1
        (dt.date(1965, 5, 10), "male", dt.date(2025, 7, 10)),  # second block: +2
        (dt.date(1985, 3, 5), "male", dt.date(2048, 3, 5)),  # capped at +36 months
        (dt.date(1975, 1, 15), "female-worker", dt.date(2025, 2, 15)),
        (dt.date(1990, 6, 1), "female-worker", dt.date(2045, 6, 1)),  # capped at +60
        (dt.date(1970, 3, 31), "female-cadre", dt.date(2025, 4, 30)),  # month end
    ],
)
def test_retirement_date(policy, birth: dt.date, group: str, retires: dt.date) -> None:
    assert finance.retirement_date(policy, birth, group) == retires


def test_max_term_ends_by_retirement_plus_five(policy) -> None:
    # Retires 2048-03-05, so the loan must end by 2053-03-05: 26 whole years from today.
    years = finance.max_term_years(
        policy, dt.date(1985, 3, 5), "male", dt.date(2026, 12, 4)
    )
    assert years == 26


def test_max_term_capped_at_thirty(policy) -> None:
    years = finance.max_term_years(
        policy, dt.date(2000, 1, 1), "male", dt.date(2026, 12, 4)
    )
    assert years == 30


def test_max_term_zero_after_limit(policy) -> None:
    years = finance.max_term_years(
        policy, dt.date(1960, 1, 1), "male", dt.date(2026, 12, 4)
    )
    assert years == 0


@pytest.mark.parametrize(
    ("home", "months", "rate"),
    [
        ("first", 60, D("2.10")),
        ("first", 61, D("2.60")),
        ("second", 60, D("2.525")),
        ("second", 240, D("3.075")),
    ],
)
def test_loan_rate_by_home_and_term(policy, home: str, months: int, rate: D) -> None:
    assert finance.loan_rate(policy, home, months, dt.date(2026, 1, 1)) == rate
