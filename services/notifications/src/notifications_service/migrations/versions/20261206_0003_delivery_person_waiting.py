"""Deliveries waiting per person and channel: a refused or deleted address cancels them

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_delivery_person_waiting",
        "delivery",
        ["person_id", "channel"],
        unique=False,
        postgresql_where=sa.text("state IN ('pending', 'sending')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_delivery_person_waiting",
        table_name="delivery",
        postgresql_where=sa.text("state IN ('pending', 'sending')"),
    )
