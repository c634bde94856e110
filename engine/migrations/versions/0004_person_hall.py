"""record the day a depositor passed identity verification

Revision ID: 0004_person_hall
Revises: 0003_unit_hall
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_person_hall"
down_revision = "0003_unit_hall"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("core_person", sa.Column("verified_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("core_person") as batch:
        batch.drop_column("verified_on")
