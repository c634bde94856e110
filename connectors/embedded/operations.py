"""The operations the embedded core offers, by the names the specs call them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from connectors.base import Caller
from connectors.embedded import applications, ledger, loans, persons, units
from connectors.embedded import deposit_proof, loan_accounts, projects
from connectors.embedded import retirement, withdrawals
from connectors.embedded import early_repayment, loan_changes, offset
from connectors.embedded import identity
from connectors.embedded.applications import APPROVALS
from connectors.embedded.context import CoreContext

CoreOperation = Callable[[CoreContext, Caller, Mapping[str, Any]], Any]

OPERATIONS: dict[str, CoreOperation] = {
    "unit.login_info": units.login_info,
    "unit.profile": units.profile,
    "unit.employees": units.employees,
    "unit.ledger": units.unit_ledger,
    "ledger.entry_types": ledger.entry_types,
    "person.resolve": persons.resolve,
    "person.lookup": persons.lookup,
    "person.account": persons.account,
    "person.ledger": persons.person_ledger,
    "person.profile": persons.profile,
    "account.open": applications.open_accounts,
    "person.base_change": applications.change_bases,
    "loan.trial": loans.trial,
    "loan.contracts": loan_accounts.contracts,
    "loan.repaying_contracts": loan_accounts.repaying_contracts,
    "loan.account": loan_accounts.account_card,
    "loan.repayments": loan_accounts.repayments,
    "loan.progress": loan_accounts.progress,
    "projects.search": projects.search,
    "person.deposit_proof": deposit_proof.deposit_proof,
    "withdrawal.profile": withdrawals.profile,
    "withdrawal.rent_trial": withdrawals.rent_trial,
    withdrawals.RENT: withdrawals.submit_rent,
    "withdrawal.repayment_trial": withdrawals.repayment_trial,
    withdrawals.REPAYMENT: withdrawals.submit_repayment,
    "withdrawal.retirement_amount": retirement.amount,
    "withdrawal.retirement_trial": retirement.trial,
    withdrawals.RETIREMENT: retirement.submit,
    "loan.repayment_status": early_repayment.status,
    "loan.early_repayment_trial": early_repayment.trial,
    early_repayment.EARLY_REPAYMENT: early_repayment.submit,
    "loan.signable_contracts": offset.signable_contracts,
    "loan.signed_contracts": offset.signed_contracts,
    offset.SIGN: offset.sign,
    "loan.offset_sign_trial": offset.sign_trial,
    "loan.offset_revoke_trial": offset.revoke_trial,
    offset.REVOKE: offset.revoke,
    "loan.details": loan_changes.details,
    "loan.change_trial": loan_changes.trial,
    loan_changes.CHANGE: loan_changes.submit,
    "person.identity": identity.identity,
    "person.verify_identity": identity.verify,
    "person.recovery_check": identity.recovery_check,
}

APPROVALS.update(
    {
        withdrawals.RENT: withdrawals.approve_withdrawal,
        withdrawals.REPAYMENT: withdrawals.approve_withdrawal,
        withdrawals.RETIREMENT: retirement.approve,
        early_repayment.EARLY_REPAYMENT: early_repayment.approve,
        offset.SIGN: offset.approve_sign,
        offset.REVOKE: offset.approve_revoke,
        loan_changes.CHANGE: loan_changes.approve,
    }
)
