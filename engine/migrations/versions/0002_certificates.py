"""add issued certificates and verification look-ups

Revision ID: 0002_certificates
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_certificates"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issued_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("service_id", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("hall", sa.String(length=10), nullable=False),
        sa.Column("unit_account", sa.String(length=20), nullable=True),
        sa.Column("person_account", sa.String(length=20), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("issued_certificate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_issued_certificate_person_account"),
            ["person_account"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_issued_certificate_unit_account"),
            ["unit_account"],
            unique=False,
        )
    op.create_table(
        "verification_lookup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verification_lookup", schema=None) as batch_op:
        batch_op.create_index(
            "ix_verification_lookup_address_at", ["address", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("verification_lookup", schema=None) as batch_op:
        batch_op.drop_index("ix_verification_lookup_address_at")
    op.drop_table("verification_lookup")
    with op.batch_alter_table("issued_certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_certificate_unit_account"))
        batch_op.drop_index(batch_op.f("ix_issued_certificate_person_account"))
    op.drop_table("issued_certificate")
