"""add the failed core callbacks counted to throttle an address

Revision ID: 0009_core_callback_failures
Revises: 0008_print_jobs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_core_callback_failures"
down_revision = "0008_print_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "core_callback_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_core_callback_failure_address_at",
        "core_callback_failure",
        ["address", "at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_core_callback_failure_address_at", table_name="core_callback_failure"
    )
    op.drop_table("core_callback_failure")
