"""index the employee list and ledger ranges for units of many employees

Revision ID: 0006_large_data
Revises: 0004_person_hall
"""

from __future__ import annotations

from alembic import op

revision = "0006_large_data"
down_revision = "0004_person_hall"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_core_account_unit_person_account",
        "core_account",
        ["unit_id", "person_account"],
    )
    # Serves a lookup by person and unit on both columns. The single-column
    # person_id index it replaces is its prefix.
    op.create_index(
        "ix_core_account_person_unit", "core_account", ["person_id", "unit_id"]
    )
    op.drop_index("ix_core_account_person_id", table_name="core_account")
    op.create_index(
        "ix_core_account_unit_balance", "core_account", ["unit_id", "balance"]
    )
    # The new ledger indexes extend the old ones, which then serve no query.
    op.create_index(
        "ix_core_ledger_account_date_sequence",
        "core_ledger_entry",
        ["account_id", "entry_date", "sequence", "id"],
    )
    op.drop_index("ix_core_ledger_account_date", table_name="core_ledger_entry")
    op.create_index(
        "ix_core_ledger_unit_date_sequence",
        "core_ledger_entry",
        ["unit_id", "entry_date", "sequence", "id"],
    )
    op.drop_index("ix_core_ledger_unit_date", table_name="core_ledger_entry")


def downgrade() -> None:
    op.drop_index("ix_core_account_unit_balance", table_name="core_account")
    op.create_index(
        "ix_core_ledger_unit_date", "core_ledger_entry", ["unit_id", "entry_date"]
    )
    op.drop_index("ix_core_ledger_unit_date_sequence", table_name="core_ledger_entry")
    op.create_index(
        "ix_core_ledger_account_date",
        "core_ledger_entry",
        ["account_id", "entry_date"],
    )
    op.drop_index(
        "ix_core_ledger_account_date_sequence", table_name="core_ledger_entry"
    )
    op.create_index("ix_core_account_person_id", "core_account", ["person_id"])
    op.drop_index("ix_core_account_person_unit", table_name="core_account")
    op.drop_index("ix_core_account_unit_person_account", table_name="core_account")
