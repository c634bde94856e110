"""The operations the embedded core offers, by the names the specs call them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from connectors.base import Caller
from connectors.embedded import (
    applications,
    certificates,
    client_certificates,
    deposit_changes,
    deposit_proof,
    direct_debits,
    employee_change,
    employees,
    interest,
    ledger,
    loans,
    persons,
    ratio_change,
    transfers,
    unit_change,
    units,
)
from connectors.embedded.context import CoreContext
from connectors.embedded.models import ReviewItem

CoreOperation = Callable[[CoreContext, Caller, Mapping[str, Any]], Any]
Approval = Callable[[CoreContext, ReviewItem], None]

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
    "certificate.person_deposit": certificates.person_deposit,
    "certificate.unit_deposit": certificates.unit_deposit,
    "certificate.interest_years": certificates.interest_years,
    "certificate.unit_interest_statement": certificates.unit_interest_statement,
    "certificate.settled_loans": certificates.settled_loans,
    "certificate.loan_settlement": certificates.loan_settlement,
    # Unit hall services beyond the first ones.
    "account.statuses": employees.account_statuses,
    "unit.employee_list": employees.employee_list,
    "unit.employee_ledger": employees.employee_ledger,
    "deposit_change.types": deposit_changes.change_types,
    "unit.deposit_changes": deposit_changes.deposit_changes,
    "unit.direct_debits": direct_debits.direct_debits,
    "unit.interest_years": interest.interest_years,
    "unit.interest_statement": interest.interest_statement,
    "unit.deposit_proof": deposit_proof.deposit_proof,
    "unit.employee": employees.employee,
    "unit.find": transfers.find_unit,
    "unit.leaving_employee": transfers.leaving_employee,
    "unit.transfers": transfers.transfers,
    "person.seal_transfer": transfers.seal_or_transfer,
    "unit.ratio_change": ratio_change.change_ratios,
    "person.change": employee_change.change_employee,
    "unit.details": unit_change.details,
    "unit.handler": unit_change.handler,
    "unit.change": unit_change.change_unit,
    "unit.handler_identity": unit_change.handler_identity,
    "unit.by_uscc": client_certificates.unit_by_uscc,
}

APPROVALS: dict[str, Approval] = {
    **applications.APPROVALS,
    transfers.SEAL_TRANSFER: transfers.approve_seal_transfer,
    ratio_change.RATIO_CHANGE: ratio_change.approve_ratio_change,
    employee_change.EMPLOYEE_CHANGE: employee_change.approve_employee_change,
    unit_change.UNIT_CHANGE: unit_change.approve_unit_change,
}
