"""add transfers, identity verifications and revisions of applications

Revision ID: 0003_unit_hall
Revises: 0005_delivery
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.types

revision = "0003_unit_hall"
down_revision = "0005_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revises", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("revision", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.create_index(
            batch_op.f("ix_application_revises"), ["revises"], unique=False
        )
    op.create_table(
        "identity_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hall", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("person_account", sa.String(length=20), nullable=False),
        sa.Column("agreement", sa.String(length=80), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("identity_verification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_identity_verification_subject", ["hall", "subject"], unique=False
        )
    op.create_table(
        "core_transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("from_unit_id", sa.Integer(), nullable=False),
        sa.Column("to_unit_id", sa.Integer(), nullable=False),
        sa.Column("amount", engine.storage.types.Money(), nullable=False),
        sa.Column("transferred_on", sa.Date(), nullable=False),
        sa.Column("application_number", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["core_account.id"]),
        sa.ForeignKeyConstraint(["from_unit_id"], ["core_unit.id"]),
        sa.ForeignKeyConstraint(["to_unit_id"], ["core_unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("core_transfer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_core_transfer_from_unit_date",
            ["from_unit_id", "transferred_on"],
            unique=False,
        )
        batch_op.create_index(
            "ix_core_transfer_to_unit_date",
            ["to_unit_id", "transferred_on"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("core_transfer", schema=None) as batch_op:
        batch_op.drop_index("ix_core_transfer_to_unit_date")
        batch_op.drop_index("ix_core_transfer_from_unit_date")
    op.drop_table("core_transfer")
    with op.batch_alter_table("identity_verification", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_verification_subject")
    op.drop_table("identity_verification")
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_revises"))
        batch_op.drop_column("revision")
        batch_op.drop_column("revises")
