"""Withdrawals from a depositor's own account: rent and loan repayment, and approval.

Every withdrawal is checked twice: when the depositor submits it, against the balance
less what other open withdrawals of the account already claim, and when a reviewer
approves it, against the balance itself. Both checks run under the account's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from stdnum import luhn
from stdnum.exceptions import ValidationError

from connectors.base import Caller, NotFound, Rejected
from connectors.embedded import inputs, review
from connectors.embedded.bookings import book, lock_account
from connectors.embedded.codes import (
    ACCOUNT_STATUS,
    ACTIVE,
    FROZEN,
    LOAN_SETTLED,
    REMITTANCE,
    SEALED,
    WITHDRAWAL,
)
from connectors.embedded.context import CoreContext
from connectors.embedded.finance import add_months
from connectors.embedded.loan_accounts import own_loan, repaid_total
from connectors.embedded.models import Account, LedgerEntry, Loan, Person, ReviewItem
from connectors.embedded.person_deposit_proof import consecutive_months
from connectors.embedded.scope import caller_account

RENT = "withdrawal.rent"
REPAYMENT = "withdrawal.repayment"
RETIREMENT = "withdrawal.retirement"
# Withdrawal reasons by their standard codes.
REASONS = {RENT: "07", REPAYMENT: "06", RETIREMENT: "03"}
TITLES = {RENT: "租房提取", REPAYMENT: "还贷提取", RETIREMENT: "离退休提取"}

COMMERCIAL_RENTAL = "commercial"
PUBLIC_RENTAL = "public"
HOUSING_TYPES = {COMMERCIAL_RENTAL: "租住商品住房", PUBLIC_RENTAL: "租住公共租赁住房"}
HPF_LOAN = "hpf"
COMMERCIAL_LOAN = "commercial"
ZERO = Decimal("0.00")


# Shared checks


def open_withdrawals(context: CoreContext, account: Account) -> list[ReviewItem]:
    """Return the account's withdrawals still waiting for review."""
    return list(
        context.session.scalars(
            select(ReviewItem).where(
                ReviewItem.operation.in_(list(REASONS)),
                ReviewItem.person_account == account.person_account,
                ReviewItem.status == review.PENDING,
            )
        )
    )


def withdrawable(context: CoreContext, account: Account) -> Decimal:
    """Return the balance less what open withdrawals of the account claim."""
    claimed = sum(
        (
            Decimal(item.payload["amount"])
            for item in open_withdrawals(context, account)
        ),
        ZERO,
    )
    return max(account.balance - claimed, ZERO)


def check_account(context: CoreContext, account: Account, operation: str) -> None:
    """Reject a withdrawal from a frozen or closed account, or a second open one."""
    if account.status == FROZEN:
        raise Rejected("账户已冻结，不能办理提取")
    if account.status not in (ACTIVE, SEALED):
        status = ACCOUNT_STATUS.get(account.status, account.status)
        raise Rejected(f"账户状态为{status}，不能办理提取")
    for item in open_withdrawals(context, account):
        if item.operation == operation:
            raise Rejected(
                f"您已有一笔待审核的{TITLES[operation]}申请（申报编号 "
                f"{item.application_number}），审核办结前不能再次申请"
            )


def check_amount(amount: Decimal, limit: Decimal, why: str) -> None:
    if amount <= 0:
        raise Rejected("本次提取金额应大于 0", field="amount")
    if amount > limit:
        raise Rejected(f"本次提取金额不能超过{why} {limit:,.2f} 元", field="amount")


def bank_card(params: Mapping[str, Any]) -> str:
    """Read the settlement bank card; its last digit is a Luhn check digit."""
    number = inputs.text(params, "bank_card", "收款银行卡号").replace(" ", "")
    if not 16 <= len(number) <= 19:
        raise Rejected("收款银行卡号应为 16 至 19 位数字", field="bank_card")
    try:
        return str(luhn.validate(number))
    except ValidationError:
        raise Rejected("收款银行卡号无效，请核对", field="bank_card") from None


def profile(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Return the depositor's name, balance and the amount still withdrawable."""
    account, person = caller_account(context, caller)
    return {
        "holder_name": person.name,
        "balance": account.balance,
        "withdrawable": withdrawable(context, account),
        "status_label": ACCOUNT_STATUS.get(account.status, account.status),
    }


def queue_withdrawal(
    context: CoreContext,
    caller: Caller,
    params: Mapping[str, Any],
    operation: str,
    assess: Callable[[Account, Person], Mapping[str, Any]],
    stored: tuple[str, ...],
) -> dict:
    """Queue a withdrawal from the caller's own account for review.

    A repeated application number returns the first call's result. `assess` checks
    the withdrawal and returns its figures. It runs under the account's lock, so it
    reads the balance and open withdrawals as earlier submissions committed them.
    The review item stores the reason and the figures named in `stored`.
    """
    number = inputs.text(params, "application_number", "申报编号")
    earlier = review.already_submitted(context, caller, operation, number)
    if earlier is not None:
        return earlier
    account, person = caller_account(context, caller)
    lock_account(context, account)
    # A call with the same number may have committed while this one waited for the
    # lock. The check for a second open withdrawal would then reject this retry.
    earlier = review.already_submitted(context, caller, operation, number)
    if earlier is not None:
        return earlier
    figures = assess(account, person)
    payload = {"reason": REASONS[operation]}
    payload.update((name, figures[name]) for name in stored)
    return review.submit(context, caller, operation, number, payload)


# Rent


def rent_trial(context: CoreContext, caller: Caller, params: Mapping[str, Any]) -> dict:
    """Check a rent withdrawal and return its limits, without queueing it."""
    account, person = caller_account(context, caller)
    return _rent(context, account, person, params)


def submit_rent(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Queue a rent withdrawal for review."""

    def assess(account: Account, person: Person) -> dict[str, Any]:
        figures = _rent(context, account, person, params)
        return {**figures, "bank_card": bank_card(params)}

    stored = (
        "housing_type",
        "from_month",
        "to_month",
        "monthly_rent",
        "limit",
        "amount",
        "bank_card",
    )
    return queue_withdrawal(context, caller, params, RENT, assess, stored)


def _rent(
    context: CoreContext, account: Account, person: Person, params: Mapping[str, Any]
) -> dict[str, Any]:
    check_account(context, account, RENT)
    policy, today = context.policy, context.today
    params = _with_period_ends(params)
    housing_type = str(params.get("housing_type") or "")
    if housing_type not in HOUSING_TYPES:
        raise Rejected("请选择租住住房类型", field="housing_type")
    start = inputs.month(params, "from_period", "租赁期开始月份")
    end = inputs.month(params, "to_period", "租赁期结束月份")
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    longest = int(policy.value("rent_max_months", today))
    if not 1 <= months <= longest:
        raise Rejected(f"租赁期应为 1 至 {longest} 个月", field="period")
    rent = inputs.amount(params, "monthly_rent", "月租金")
    if rent <= 0:
        raise Rejected("月租金应大于 0", field="monthly_rent")
    _check_no_home(context, person)
    _check_recent_deposits(context, account)

    if housing_type == COMMERCIAL_RENTAL:
        monthly = min(rent, policy.value("rent_commercial_monthly_limit", today))
    else:
        monthly = rent
    rule_limit = monthly * months
    available = withdrawable(context, account)
    limit = min(rule_limit, available)
    amount = inputs.amount(params, "amount", "本次提取金额")
    why = "按租房提取规则计算的限额" if rule_limit <= available else "账户可提取余额"
    check_amount(amount, limit, why)
    return {
        "housing_type": housing_type,
        "housing_type_label": HOUSING_TYPES[housing_type],
        "from_month": inputs.month_text(start),
        "to_month": inputs.month_text(end),
        "months": months,
        "monthly_rent": rent,
        "monthly_limit": monthly,
        "rule_limit": rule_limit,
        "balance": account.balance,
        "withdrawable": available,
        "limit": limit,
        "amount": amount,
        "balance_after": account.balance - amount,
    }


def _with_period_ends(params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept the rental period as one range or as its two ends, as a query sends it."""
    period = params.get("period")
    if not isinstance(period, Mapping):
        return params
    return {**params, "from_period": period.get("from"), "to_period": period.get("to")}


def _check_no_home(context: CoreContext, person: Person) -> None:
    # NOTE: the core keeps no property register. An HPF loan still being repaid is
    # the only home in the city it records, and the depositor declares the rest.
    loan = context.session.scalars(
        select(Loan).where(Loan.person_id == person.id, Loan.status != LOAN_SETTLED)
    ).first()
    if loan is not None:
        raise Rejected(
            f"您有未结清的公积金贷款（合同 {loan.contract_number}），在本市有自有住房，"
            "不能办理租房提取，可办理还贷提取"
        )


def _check_recent_deposits(context: CoreContext, account: Account) -> None:
    """Require unbroken deposits for the policy's months, up to last month at least."""
    needed = int(context.policy.value("rent_min_deposit_months", context.today))
    months = sorted(
        {
            f"{day:%Y-%m}"
            for day in context.session.scalars(
                select(LedgerEntry.entry_date).where(
                    LedgerEntry.account_id == account.id,
                    LedgerEntry.entry_type == REMITTANCE,
                )
            )
        }
    )
    last_month = inputs.month_text(add_months(context.today.replace(day=1), -1))
    run = consecutive_months(months) if months and months[-1] >= last_month else 0
    if account.status != ACTIVE or run < needed:
        raise Rejected(
            f"租房提取需连续足额缴存满 {needed} 个月且仍在缴存，"
            f"您目前连续缴存 {run} 个月"
        )


# Loan repayment


def repayment_trial(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Check a loan-repayment withdrawal and return its limits, without queueing it."""
    account, _person = caller_account(context, caller)
    return _repayment(context, caller, account, params)


def submit_repayment(
    context: CoreContext, caller: Caller, params: Mapping[str, Any]
) -> dict:
    """Queue a loan-repayment withdrawal for review."""

    def assess(account: Account, _person: Person) -> dict[str, Any]:
        return _repayment(context, caller, account, params)

    stored = ("loan_type", "loan_key", "contract", "repaid_total", "limit", "amount")
    return queue_withdrawal(context, caller, params, REPAYMENT, assess, stored)


def _repayment(
    context: CoreContext, caller: Caller, account: Account, params: Mapping[str, Any]
) -> dict[str, Any]:
    check_account(context, account, REPAYMENT)
    loan_type = str(params.get("loan_type") or "")
    if loan_type == HPF_LOAN:
        loan = own_loan(
            context, caller, inputs.text(params, "contract", "借款合同编号")
        )
        contract = loan.contract_number
        repaid = repaid_total(context, loan)
    elif loan_type == COMMERCIAL_LOAN:
        bank = inputs.text(params, "commercial_bank", "贷款银行")
        contract = inputs.text(params, "commercial_contract", "商业贷款合同编号")
        contract = f"{bank} {contract}"
        repaid = inputs.amount(params, "repaid_total", "已偿还本息合计")
        _require_attachments(params, ("loan_contract", "repayment_record"))
    else:
        raise Rejected("请选择贷款类型", field="loan_type")
    loan_key = f"{loan_type}:{contract}"
    earlier = _withdrawn_for_loan(context, account, loan_key)
    by_loan = max(repaid - earlier, ZERO)
    available = withdrawable(context, account)
    limit = min(by_loan, available)
    amount = inputs.amount(params, "amount", "本次提取金额")
    why = "已还本息扣除已提取金额后的余额" if by_loan <= available else "账户可提取余额"
    check_amount(amount, limit, why)
    return {
        "loan_type": loan_type,
        "loan_key": loan_key,
        "contract": contract,
        "repaid_total": repaid,
        "withdrawn_before": earlier,
        "balance": account.balance,
        "withdrawable": available,
        "limit": limit,
        "amount": amount,
        "balance_after": account.balance - amount,
    }


def _withdrawn_for_loan(
    context: CoreContext, account: Account, loan_key: str
) -> Decimal:
    """Sum the approved repayment withdrawals of the account for one loan."""
    items = context.session.scalars(
        select(ReviewItem).where(
            ReviewItem.operation == REPAYMENT,
            ReviewItem.person_account == account.person_account,
            ReviewItem.status == review.APPROVED,
        )
    )
    return sum(
        (
            Decimal(item.payload["amount"])
            for item in items
            if item.payload.get("loan_key") == loan_key
        ),
        ZERO,
    )


def _require_attachments(params: Mapping[str, Any], kinds: tuple[str, ...]) -> None:
    labels = {"loan_contract": "借款合同", "repayment_record": "还款记录"}
    sent = {
        str(item.get("kind"))
        for item in params.get("attachments") or []
        if isinstance(item, Mapping)
    }
    for kind in kinds:
        if kind not in sent:
            raise Rejected(f"商业贷款请上传{labels[kind]}", field=kind)


# Approval


def approve_withdrawal(context: CoreContext, item: ReviewItem) -> None:
    """Debit the approved amount with a ledger entry, if the balance still covers it."""
    account = account_of(context, item)
    lock_account(context, account)
    if account.status == FROZEN or account.status not in (ACTIVE, SEALED):
        status = ACCOUNT_STATUS.get(account.status, account.status)
        raise Rejected(f"账户状态为{status}，不能审核通过提取")
    amount = Decimal(item.payload["amount"])
    if amount > account.balance:
        raise Rejected(
            f"账户余额 {account.balance:,.2f} 元不足本次提取 {amount:,.2f} 元，"
            "不能审核通过"
        )
    book(context, account, WITHDRAWAL, TITLES[item.operation], -amount)


def account_of(context: CoreContext, item: ReviewItem) -> Account:
    account = context.session.scalars(
        select(Account).where(Account.person_account == item.person_account)
    ).first()
    if account is None:
        raise NotFound(f"未找到申报 {item.application_number} 的个人账户")
    return account
