"""The fund's calculations of deposits, loans, interest and retirement, in Decimal."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

from engine.money import FEN, round_half_up
from engine.policy import Policy

HUNDRED = Decimal(100)
MONTHS_A_YEAR = 12
# Interest on balance-days uses the banking year of 360 days.
DAYS_A_YEAR = Decimal(360)
# Enough digits that (1 + r) ** 360 keeps every fen of a 30-year schedule exact.
PRECISION = 40

EQUAL_INSTALMENTS = "equal-instalments"
EQUAL_PRINCIPAL = "equal-principal"
METHODS = (EQUAL_INSTALMENTS, EQUAL_PRINCIPAL)

LIMIT_ORDER = ("maximum", "balance", "price", "capacity")


# Deposits


@dataclass(frozen=True)
class MonthlyDeposit:
    """The two parts of one month's deposit and their sum, each already rounded."""

    unit: Decimal
    person: Decimal

    @property
    def total(self) -> Decimal:
        return self.unit + self.person


def clamp_base(wage: Decimal, floor: Decimal, cap: Decimal) -> Decimal:
    """Clamp an average monthly wage into the deposit-base range."""
    return min(max(wage, floor), cap)


def monthly_deposit(
    base: Decimal, unit_ratio: Decimal, person_ratio: Decimal, places: int
) -> MonthlyDeposit:
    """Compute the unit and personal parts, each rounded half-up on its own.

    Ratios are percent (12 means 12%). `places` is 0 for whole yuan or 2 for fen.
    """
    unit = round_half_up(base * unit_ratio / HUNDRED, places)
    person = round_half_up(base * person_ratio / HUNDRED, places)
    return MonthlyDeposit(unit.quantize(FEN), person.quantize(FEN))


def deposit_places(policy: Policy, day: dt.date) -> int:
    """Return the decimal places monthly deposits are rounded to on `day`."""
    return int(policy.value("deposit_places", day))


def base_year_start(day: dt.date) -> dt.date:
    """Return the 1 July that starts the base year containing `day`."""
    year = day.year if day.month >= 7 else day.year - 1
    return dt.date(year, 7, 1)


def base_limits(policy: Policy, day: dt.date) -> tuple[Decimal, Decimal]:
    """Return the deposit base (floor, cap) of the base year containing `day`."""
    start = base_year_start(day)
    return policy.value("base_floor", start), policy.value("base_cap", start)


# Loans


@dataclass(frozen=True)
class Instalment:
    """One row of an amortisation schedule; `balance` is what remains after it."""

    month: int
    payment: Decimal
    principal: Decimal
    interest: Decimal
    balance: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "payment": self.payment,
            "principal": self.principal,
            "interest": self.interest,
            "balance": self.balance,
        }


def monthly_rate(annual_percent: Decimal) -> Decimal:
    """Convert an annual rate in percent to the monthly rate as a fraction."""
    with localcontext() as context:
        context.prec = PRECISION
        return annual_percent / HUNDRED / MONTHS_A_YEAR


def instalment_payment(
    principal: Decimal, annual_percent: Decimal, months: int
) -> Decimal:
    """Compute the fixed monthly payment of an equal-instalment loan, rounded to fen."""
    _check_term(months)
    rate = monthly_rate(annual_percent)
    if rate == 0:
        return round_half_up(principal / months)
    with localcontext() as context:
        context.prec = PRECISION
        growth = (1 + rate) ** months
        payment = principal * rate * growth / (growth - 1)
    return round_half_up(payment)


def equal_instalment_schedule(
    principal: Decimal,
    annual_percent: Decimal,
    months: int,
    payment: Decimal | None = None,
) -> list[Instalment]:
    """Build an equal-instalment schedule; the last month pays off what remains.

    Each month's interest is the balance times the monthly rate, rounded to fen. With
    `payment` given (a kept instalment after an early repayment), the schedule runs
    until the balance is paid, so it may be shorter than `months`.
    """
    if payment is None:
        payment = instalment_payment(principal, annual_percent, months)
    rate = monthly_rate(annual_percent)
    rows: list[Instalment] = []
    balance = principal
    month = 0
    while balance > 0:
        month += 1
        interest = round_half_up(balance * rate)
        if month >= months or payment - interest >= balance:
            rows.append(
                Instalment(month, balance + interest, balance, interest, FEN * 0)
            )
            break
        if payment <= interest:
            raise ValueError(
                f"payment {payment} does not cover the interest {interest}"
            )
        balance -= payment - interest
        rows.append(Instalment(month, payment, payment - interest, interest, balance))
    return rows


def equal_principal_schedule(
    principal: Decimal, annual_percent: Decimal, months: int
) -> list[Instalment]:
    """Build an equal-principal schedule: P/n of principal plus interest on the balance.

    Principal and interest are rounded on their running totals rather than month by
    month. So the principal adds up to exactly P and the interest to the exact total
    P r (n + 1) / 2 rounded to fen, and no month's part differs from its own rounded
    figure by more than one fen.
    """
    _check_term(months)
    rate = monthly_rate(annual_percent)
    rows: list[Instalment] = []
    paid_principal = Decimal(0)
    paid_interest = Decimal(0)
    exact_interest = Decimal(0)
    with localcontext() as context:
        context.prec = PRECISION
        share = principal / months
        for month in range(1, months + 1):
            exact_interest += (principal - share * (month - 1)) * rate
            principal_to_date = round_half_up(share * month)
            interest_to_date = round_half_up(exact_interest)
            part = principal_to_date - paid_principal
            interest = interest_to_date - paid_interest
            paid_principal, paid_interest = principal_to_date, interest_to_date
            balance = principal - paid_principal
            rows.append(Instalment(month, part + interest, part, interest, balance))
    return rows


def schedule_for(
    method: str, principal: Decimal, annual_percent: Decimal, months: int
) -> list[Instalment]:
    """Build the schedule of `method`, one of METHODS."""
    if method == EQUAL_INSTALMENTS:
        return equal_instalment_schedule(principal, annual_percent, months)
    if method == EQUAL_PRINCIPAL:
        return equal_principal_schedule(principal, annual_percent, months)
    raise ValueError(f"unknown repayment method {method!r}; use one of {METHODS}")


def total_interest(schedule: Iterable[Instalment]) -> Decimal:
    return sum((row.interest for row in schedule), Decimal("0.00"))


def present_value(
    monthly_amount: Decimal, annual_percent: Decimal, months: int
) -> Decimal:
    """Discount a level monthly amount over `months` at the loan rate, to fen.

    Rounding down keeps a limit derived from it from promising more than is affordable.
    """
    _check_term(months)
    rate = monthly_rate(annual_percent)
    with localcontext() as context:
        context.prec = PRECISION
        if rate == 0:
            value = monthly_amount * months
        else:
            value = monthly_amount * (1 - (1 + rate) ** -months) / rate
    return value.quantize(FEN, rounding=ROUND_DOWN)


def repayment_capacity(
    monthly_income: Decimal,
    income_share_percent: Decimal,
    existing_monthly_debt: Decimal,
    annual_percent: Decimal,
    months: int,
) -> Decimal:
    """Return the largest principal the income can carry, or zero if none is spare."""
    available = monthly_income * income_share_percent / HUNDRED - existing_monthly_debt
    if available <= 0:
        return Decimal("0.00")
    return present_value(available, annual_percent, months)


@dataclass(frozen=True)
class LoanLimits:
    """The four bounds on a loan; `amount` is the smallest and `binding` names it."""

    maximum: Decimal
    balance: Decimal
    price: Decimal
    capacity: Decimal

    @property
    def amount(self) -> Decimal:
        return min(self.maximum, self.balance, self.price, self.capacity)

    @property
    def binding(self) -> str:
        # On a tie the earlier bound in LIMIT_ORDER is named.
        amount = self.amount
        return next(name for name in LIMIT_ORDER if getattr(self, name) == amount)


def loan_limits(
    maximum: Decimal,
    account_balance: Decimal,
    balance_multiple: Decimal,
    house_price: Decimal,
    down_payment_percent: Decimal,
    capacity: Decimal,
) -> LoanLimits:
    """Compute the four bounds of the loanable amount, each rounded down to fen."""
    by_balance = (account_balance * balance_multiple).quantize(FEN, rounding=ROUND_DOWN)
    by_price = (house_price * (HUNDRED - down_payment_percent) / HUNDRED).quantize(
        FEN, rounding=ROUND_DOWN
    )
    return LoanLimits(maximum.quantize(FEN), by_balance, by_price, capacity)


def balance_after(schedule: Sequence[Instalment], paid_months: int) -> Decimal:
    """Return the outstanding principal after the first `paid_months` instalments."""
    if paid_months <= 0:
        return schedule[0].principal + schedule[0].balance if schedule else Decimal(0)
    return schedule[min(paid_months, len(schedule)) - 1].balance


def repay_keeping_term(
    balance: Decimal, amount: Decimal, annual_percent: Decimal, remaining_months: int
) -> list[Instalment]:
    """Prepay `amount`, then spread the rest over the same remaining months."""
    remaining = _after_prepayment(balance, amount)
    if remaining == 0:
        return []
    return equal_instalment_schedule(remaining, annual_percent, remaining_months)


def repay_keeping_payment(
    balance: Decimal,
    amount: Decimal,
    annual_percent: Decimal,
    remaining_months: int,
    payment: Decimal,
) -> list[Instalment]:
    """Prepay `amount` and keep the instalment, so the loan ends sooner."""
    remaining = _after_prepayment(balance, amount)
    if remaining == 0:
        return []
    return equal_instalment_schedule(
        remaining, annual_percent, remaining_months, payment
    )


def _after_prepayment(balance: Decimal, amount: Decimal) -> Decimal:
    if amount <= 0 or amount > balance:
        raise ValueError(f"prepayment {amount} must be above 0 and at most {balance}")
    return balance - amount


def _check_term(months: int) -> None:
    if months < 1:
        raise ValueError(f"a loan needs at least one month, got {months}")


# Interest


def settle_interest(
    carried: Decimal,
    movements: Iterable[tuple[dt.date, Decimal]],
    annual_percent: Decimal,
    settlement_date: dt.date,
    closing_date: dt.date | None = None,
) -> Decimal:
    """Compute a year's interest by accumulated balance-days, rounded to fen.

    `carried` is the balance on the first day of the interest year. `movements` are
    (value date, amount) pairs with withdrawals negative. A movement earns from its
    value date (counted) to the end date (not counted). The end date is the settlement
    date, or the closing date of an account closed during the year, and then the
    carried balance earns only for the days it was held.
    """
    end = closing_date or settlement_date
    start = interest_year_start(settlement_date)
    balance_days = Decimal(0)
    for value_date, amount in movements:
        if not start <= value_date <= end:
            raise ValueError(f"movement on {value_date} is outside {start} to {end}")
        balance_days += amount * (end - value_date).days
    rate = annual_percent / HUNDRED
    if closing_date is None:
        carried_part = carried * rate
    else:
        carried_part = carried * (end - start).days * rate / DAYS_A_YEAR
    return round_half_up(carried_part + balance_days * rate / DAYS_A_YEAR)


def interest_year_start(settlement_date: dt.date) -> dt.date:
    """Return the 1 July that opens the interest year ending on `settlement_date`."""
    year = (
        settlement_date.year if settlement_date.month >= 7 else settlement_date.year - 1
    )
    return dt.date(year, 7, 1)


def settlement_date_for(day: dt.date) -> dt.date:
    """Return the 30 June that closes the interest year containing `day`."""
    return dt.date(interest_year_start(day).year + 1, 6, 30)


# Ages and terms


def add_months(day: dt.date, months: int) -> dt.date:
    """Move `day` by whole months, keeping the day or using the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Return the age in whole years on `day`."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def retirement_group(sex: str, female_group: str = "female-cadre") -> str:
    """Return the retirement-age group for a sex code ('1' male, '2' female)."""
    return "male" if sex == "1" else female_group


def retirement_date(policy: Policy, birth_date: dt.date, group: str) -> dt.date:
    """Compute the statutory retirement date from the `retirement_age` policy table.

    People born in or after the group's `from-birth` month retire one month later for
    each started block of `step-months` birth months, so the first birth month of the
    reform is already one month later, up to `max-delay-months`.
    """
    rows = {row["group"]: row for row in policy.tables["retirement_age"]}
    try:
        row = rows[group]
    except KeyError:
        raise ValueError(
            f"no retirement age for group {group!r}; use {sorted(rows)}"
        ) from None
    first_year, first_month = (int(part) for part in str(row["from-birth"]).split("-"))
    months_after = (birth_date.year - first_year) * 12 + birth_date.month - first_month
    delay = 0
    if months_after >= 0:
        delay = min(
            months_after // int(row["step-months"]) + 1, int(row["max-delay-months"])
        )
    return add_months(birth_date, int(row["base-age"]) * 12 + delay)


def max_term_years(
    policy: Policy, birth_date: dt.date, group: str, start: dt.date
) -> int:
    """Return the longest loan term in whole years starting on `start`, possibly 0.

    The loan must end within the policy maximum and by retirement plus the policy's
    extra years.
    """
    extra = int(policy.value("loan_retirement_extra_years", start))
    latest_end = add_months(retirement_date(policy, birth_date, group), extra * 12)
    months = (latest_end.year - start.year) * 12 + latest_end.month - start.month
    if latest_end.day < start.day:
        months -= 1
    years_to_limit = max(months, 0) // 12
    return min(years_to_limit, int(policy.value("loan_max_term_years", start)))


def loan_rate(policy: Policy, home: str, months: int, day: dt.date) -> Decimal:
    """Return the annual loan rate in percent for a first or second home and a term."""
    if home not in ("first", "second"):
        raise ValueError(f"home must be 'first' or 'second', got {home!r}")
    span = "short" if months <= 5 * MONTHS_A_YEAR else "long"
    return policy.value(f"loan_rate_{home}_{span}", day)
