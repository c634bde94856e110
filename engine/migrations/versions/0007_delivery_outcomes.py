"""add dead deliveries, decision polling and the nonces of core callbacks

Revision ID: 0007_delivery_outcomes
Revises: 0006_large_data
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_delivery_outcomes"
down_revision = "0006_large_data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("requeued_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("requeued_by", sa.String(length=40), nullable=True)
        )
        batch.add_column(
            sa.Column("decision_checked_at", sa.DateTime(), nullable=True)
        )
    op.create_table(
        "core_callback_nonce",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_index(
        "ix_core_callback_nonce_received_at",
        "core_callback_nonce",
        ["received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_core_callback_nonce_received_at", table_name="core_callback_nonce"
    )
    op.drop_table("core_callback_nonce")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("decision_checked_at")
        batch.drop_column("requeued_by")
        batch.drop_column("requeued_at")
