"""code budget: how many verification codes a person had sent in the current hour

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "recipient",
        sa.Column("codes_window_start", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "recipient",
        sa.Column("codes_in_window", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("recipient", "codes_in_window")
    op.drop_column("recipient", "codes_window_start")
