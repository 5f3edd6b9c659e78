"""login language: the page language a login attempt started in

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 09:00:00.000000
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
        "login_attempt",
        sa.Column("lang", sa.String(length=2), server_default="lv", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("login_attempt", "lang")
