"""add print jobs: long certificates rendered outside the request

Revision ID: 0008_print_jobs
Revises: 0007_delivery_outcomes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_print_jobs"
down_revision = "0007_delivery_outcomes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "print_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=43), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("service_id", sa.String(length=60), nullable=False),
        sa.Column("hall", sa.String(length=10), nullable=False),
        sa.Column("unit_account", sa.String(length=20), nullable=True),
        sa.Column("person_account", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["certificate_id"], ["issued_certificate.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("token"),
    )
    op.create_index(
        "ix_print_job_unit_account", "print_job", ["unit_account"], unique=False
    )
    op.create_index(
        "ix_print_job_person_account", "print_job", ["person_account"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_print_job_person_account", table_name="print_job")
    op.drop_index("ix_print_job_unit_account", table_name="print_job")
    op.drop_table("print_job")
