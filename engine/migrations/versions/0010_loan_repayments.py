"""record early repayments of loans apart from the review queue

Revision ID: 0010
Revises: 0009_core_callback_failures

Before this revision the core kept an approved early repayment only in the payload
of its review item. The upgrade records each approved one as a repayment of its
loan, dated on the business date in China of the approval.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import engine.storage.types

revision = "0010"
down_revision = "0009_core_callback_failures"
branch_labels = None
depends_on = None

# The fund centre's zone, copied here so the revision keeps its meaning if the
# application's clock changes.
FUND_CENTRE_ZONE = ZoneInfo("Asia/Shanghai")


def upgrade() -> None:
    repayments = op.create_table(
        "core_loan_repayment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("repaid_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("payment", engine.storage.types.Money(), nullable=False),
        sa.Column("principal", engine.storage.types.Money(), nullable=False),
        sa.Column("interest", engine.storage.types.Money(), nullable=False),
        sa.Column("balance", engine.storage.types.Money(), nullable=False),
        sa.Column("application_number", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["loan_id"], ["core_loan.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_core_loan_repayment_loan_date",
        "core_loan_repayment",
        ["loan_id", "repaid_on"],
        unique=False,
    )
    rows = _approved_early_repayments()
    if rows:
        op.bulk_insert(repayments, rows)


def downgrade() -> None:
    op.drop_index("ix_core_loan_repayment_loan_date", table_name="core_loan_repayment")
    op.drop_table("core_loan_repayment")


def _approved_early_repayments() -> list[dict[str, Any]]:
    """Turn the approved early repayment applications into repayment rows.

    Early repayments charged no interest, so the payment is all principal.
    """
    connection = op.get_bind()
    loans = dict(
        connection.execute(sa.text("SELECT contract_number, id FROM core_loan")).all()
    )
    items = connection.execute(
        sa.text(
            "SELECT application_number, payload, created_at, decided_at"
            " FROM core_review_item"
            " WHERE operation = 'loan.early_repayment' AND status = 'approved'"
            " ORDER BY id"
        )
    ).all()
    rows = []
    for number, payload, created_at, decided_at in items:
        data = json.loads(payload) if isinstance(payload, str) else payload
        loan_id = loans.get(data.get("contract"))
        if loan_id is None:
            continue
        amount = Decimal(data["amount"])
        if "balance_after" in data:
            balance = Decimal(data["balance_after"])
        else:
            balance = Decimal(data["balance"]) - amount
        rows.append(
            {
                "loan_id": loan_id,
                "repaid_on": _business_date(decided_at or created_at),
                "kind": data.get("mode") or ("full" if balance == 0 else "partial"),
                "payment": amount,
                "principal": amount,
                "interest": Decimal("0.00"),
                "balance": balance,
                "application_number": number,
            }
        )
    return rows


def _business_date(stamp: Any) -> dt.date:
    """Return the date in China of a stored naive UTC timestamp."""
    if isinstance(stamp, str):
        stamp = dt.datetime.fromisoformat(stamp)
    return stamp.replace(tzinfo=dt.UTC).astimezone(FUND_CENTRE_ZONE).date()
