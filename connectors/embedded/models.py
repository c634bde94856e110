"""Tables of the embedded core system, kept apart from the hall's own tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.storage.types import Money, Rate


class CoreBase(DeclarativeBase):
    """Declarative base with its own metadata, so the core can be created on its own."""

    metadata = MetaData()


class Unit(CoreBase):
    """An employer registered with the fund centre."""

    __tablename__ = "core_unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_account: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    address: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(6))
    legal_rep: Mapped[str] = mapped_column(String(50))
    legal_rep_id_number: Mapped[str] = mapped_column(String(18))
    phone: Mapped[str] = mapped_column(String(20))
    # The handler is a depositor of this unit, named by personal account number.
    handler_person_account: Mapped[str | None] = mapped_column(String(12))
    unit_ratio: Mapped[Decimal] = mapped_column(Rate)
    person_ratio: Mapped[Decimal] = mapped_column(Rate)
    status: Mapped[str] = mapped_column(String(2))
    bank: Mapped[str] = mapped_column(String(100))
    bank_account: Mapped[str] = mapped_column(String(30))
    debit_day: Mapped[int] = mapped_column(Integer)
    opened_on: Mapped[dt.date]


class Person(CoreBase):
    """A natural person known to the core, identified by the resident ID number."""

    __tablename__ = "core_person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    # GB/T 2261.1 codes: '1' male, '2' female.
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[dt.date]
    mobile: Mapped[str] = mapped_column(String(11))
    address: Mapped[str] = mapped_column(String(200), default="")
    bank_card: Mapped[str] = mapped_column(String(19), default="")
    # A key of the `retirement_age` policy table: male, female-cadre, female-worker.
    retirement_group: Mapped[str] = mapped_column(String(20))
    # The day the depositor passed identity verification in the person hall.
    verified_on: Mapped[dt.date | None]


class Account(CoreBase):
    """A personal HPF account of one person at one unit."""

    __tablename__ = "core_account"
    __table_args__ = (
        Index("ix_core_account_unit_status", "unit_id", "status"),
        # The unit's employee list pages in personal account order along this index.
        Index("ix_core_account_unit_person_account", "unit_id", "person_account"),
        # Serves the lookup of one person's accounts at one unit on both columns.
        Index("ix_core_account_person_unit", "person_id", "unit_id"),
        # Lets the employee list sorted by balance read one page, not the unit.
        Index("ix_core_account_unit_balance", "unit_id", "balance"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_account: Mapped[str] = mapped_column(String(12), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("core_person.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("core_unit.id"))
    status: Mapped[str] = mapped_column(String(2))
    base: Mapped[Decimal] = mapped_column(Money)
    opened_on: Mapped[dt.date]
    # 'YYYY-MM' of the latest month deposited, or None before the first deposit.
    last_paid_month: Mapped[str | None] = mapped_column(String(7))
    balance: Mapped[Decimal] = mapped_column(Money)
    closed_on: Mapped[dt.date | None]


class LedgerEntry(CoreBase):
    """One movement of a unit's or an account's funds, with the balance after it.

    Exactly one of `unit_id` and `account_id` is set. `sequence` orders entries of the
    same day.
    """

    __tablename__ = "core_ledger_entry"
    # Ledger queries read a date range in (entry_date, sequence, id) order; these
    # indexes return it in that order, so no sort follows the range scan.
    __table_args__ = (
        Index(
            "ix_core_ledger_account_date_sequence",
            "account_id",
            "entry_date",
            "sequence",
            "id",
        ),
        Index(
            "ix_core_ledger_unit_date_sequence",
            "unit_id",
            "entry_date",
            "sequence",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("core_unit.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("core_account.id"))
    entry_date: Mapped[dt.date]
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    entry_type: Mapped[str] = mapped_column(String(2))
    summary: Mapped[str] = mapped_column(String(100))
    debit: Mapped[Decimal] = mapped_column(Money)
    credit: Mapped[Decimal] = mapped_column(Money)
    balance: Mapped[Decimal] = mapped_column(Money)


class InterestSettlement(CoreBase):
    """The interest an account earned in one interest year (1 July to 30 June)."""

    __tablename__ = "core_interest_settlement"
    __table_args__ = (Index("ix_core_interest_account_year", "account_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("core_account.id"))
    # The calendar year of the closing 30 June.
    year: Mapped[int] = mapped_column(Integer)
    settled_on: Mapped[dt.date]
    rate: Mapped[Decimal] = mapped_column(Rate)
    balance_before: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    balance_after: Mapped[Decimal] = mapped_column(Money)


class Loan(CoreBase):
    """An HPF loan contract."""

    __tablename__ = "core_loan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_number: Mapped[str] = mapped_column(String(20), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("core_person.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("core_account.id"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_partner_project.id")
    )
    amount: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int] = mapped_column(Integer)
    rate: Mapped[Decimal] = mapped_column(Rate)
    # finance.EQUAL_INSTALMENTS or finance.EQUAL_PRINCIPAL.
    method: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[dt.date]
    balance: Mapped[Decimal] = mapped_column(Money)
    # '01' repaying, '02' settled, '03' overdue.
    status: Mapped[str] = mapped_column(String(2))
    bank: Mapped[str] = mapped_column(String(100))
    repayment_card: Mapped[str] = mapped_column(String(19))
    house_address: Mapped[str] = mapped_column(String(200))
    offset_signed: Mapped[bool] = mapped_column(Boolean, default=False)


class LoanInstalment(CoreBase):
    """One scheduled monthly instalment of a loan; `paid_on` is set once repaid."""

    __tablename__ = "core_loan_schedule"
    __table_args__ = (Index("ix_core_loan_schedule_loan_month", "loan_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("core_loan.id"))
    month: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[dt.date]
    payment: Mapped[Decimal] = mapped_column(Money)
    principal: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    balance: Mapped[Decimal] = mapped_column(Money)
    paid_on: Mapped[dt.date | None]


class LoanRepayment(CoreBase):
    """A repayment of a loan outside its schedule: an early repayment, partial or full.

    Scheduled instalments are recorded in `core_loan_schedule` once paid. `payment`
    is `principal` plus `interest`, paid on `repaid_on`, and `balance` is the
    principal still owed after it.
    """

    __tablename__ = "core_loan_repayment"
    __table_args__ = (
        Index("ix_core_loan_repayment_loan_date", "loan_id", "repaid_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("core_loan.id"))
    repaid_on: Mapped[dt.date]
    # early_repayment.PARTIAL or early_repayment.FULL.
    kind: Mapped[str] = mapped_column(String(10))
    payment: Mapped[Decimal] = mapped_column(Money)
    principal: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    balance: Mapped[Decimal] = mapped_column(Money)
    # The approved application the repayment came from.
    application_number: Mapped[str | None] = mapped_column(String(40))


class PartnerProject(CoreBase):
    """A housing project whose buyers may take HPF loans through partner banks."""

    __tablename__ = "core_partner_project"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    developer: Mapped[str] = mapped_column(String(100))
    district: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(200))
    banks: Mapped[str] = mapped_column(String(200))


class DepositChange(CoreBase):
    """A change of who deposits or how much: see codes.CHANGE_TYPES."""

    __tablename__ = "core_deposit_change"
    __table_args__ = (
        Index("ix_core_deposit_change_unit_date", "unit_id", "recorded_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("core_unit.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("core_account.id"))
    change_type: Mapped[str] = mapped_column(String(10))
    # 'YYYY-MM' from which the change applies.
    effective_month: Mapped[str] = mapped_column(String(7))
    old_value: Mapped[str] = mapped_column(String(50), default="")
    new_value: Mapped[str] = mapped_column(String(50), default="")
    recorded_on: Mapped[dt.date]
    application_number: Mapped[str | None] = mapped_column(String(40))


class ReviewItem(CoreBase):
    """An application waiting for, or decided by, a reviewer of the centre."""

    __tablename__ = "core_review_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_number: Mapped[str] = mapped_column(String(40), unique=True)
    operation: Mapped[str] = mapped_column(String(50))
    caller_hall: Mapped[str] = mapped_column(String(10))
    unit_account: Mapped[str | None] = mapped_column(String(10))
    person_account: Mapped[str | None] = mapped_column(String(12))
    # Plain JSON: amounts as strings and dates in ISO form.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # 'pending', 'approved' or 'returned'.
    status: Mapped[str] = mapped_column(String(10), index=True)
    comment: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime]
    decided_at: Mapped[dt.datetime | None]


class Transfer(CoreBase):
    """An account moved from one unit to another with the balance it carried."""

    __tablename__ = "core_transfer"
    __table_args__ = (
        Index("ix_core_transfer_from_unit_date", "from_unit_id", "transferred_on"),
        Index("ix_core_transfer_to_unit_date", "to_unit_id", "transferred_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("core_account.id"))
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("core_unit.id"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("core_unit.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    transferred_on: Mapped[dt.date]
    application_number: Mapped[str | None] = mapped_column(String(40))
