"""Book a movement of an account: its ledger entry and the unit's matching entry."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select, update

from connectors.embedded.codes import LEDGER_TYPES
from connectors.embedded.context import CoreContext
from connectors.embedded.models import Account, LedgerEntry

ZERO = Decimal("0.00")


def lock_account(context: CoreContext, account: Account) -> Account:
    """Take the account's write lock, then read its balance as committed.

    The lock is an UPDATE that changes nothing: PostgreSQL locks the row and SQLite
    the database until the transaction ends. So two operations on one account run
    one after the other, and the second sees what the first committed.
    """
    context.session.execute(
        update(Account)
        .where(Account.id == account.id)
        .values(balance=Account.balance)
        .execution_options(synchronize_session=False)
    )
    context.session.refresh(account)
    return account


def book(
    context: CoreContext,
    account: Account,
    entry_type: str,
    summary: str,
    amount: Decimal,
) -> LedgerEntry:
    """Add `amount` (negative for a withdrawal) to a locked account and its unit.

    The account's entry carries its new balance. The unit's entry carries the unit
    ledger's running balance, which is the sum of its accounts' entries.
    """
    account.balance += amount
    entry = LedgerEntry(
        account_id=account.id,
        entry_date=context.today,
        sequence=_next_sequence(context, LedgerEntry.account_id == account.id),
        entry_type=entry_type,
        summary=summary,
        debit=-amount if amount < 0 else ZERO,
        credit=amount if amount > 0 else ZERO,
        balance=account.balance,
    )
    context.session.add(entry)
    unit_balance = context.session.scalar(
        select(LedgerEntry.balance)
        .where(LedgerEntry.unit_id == account.unit_id)
        .order_by(
            LedgerEntry.entry_date.desc(),
            LedgerEntry.sequence.desc(),
            LedgerEntry.id.desc(),
        )
        .limit(1)
    )
    context.session.add(
        LedgerEntry(
            unit_id=account.unit_id,
            entry_date=context.today,
            sequence=_next_sequence(context, LedgerEntry.unit_id == account.unit_id),
            entry_type=entry_type,
            summary=f"职工{LEDGER_TYPES[entry_type]}",
            debit=entry.debit,
            credit=entry.credit,
            balance=(unit_balance or ZERO) + amount,
        )
    )
    context.session.flush()
    return entry


def _next_sequence(context: CoreContext, owner: object) -> int:
    """Return the next sequence number of today's entries of one account or unit."""
    last = context.session.scalar(
        select(func.max(LedgerEntry.sequence)).where(
            owner, LedgerEntry.entry_date == context.today
        )
    )
    return (last or 0) + 1
