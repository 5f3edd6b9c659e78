"""Device read model: `version` is named `inventory_version`, as in every other service

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("device", "version", new_column_name="inventory_version")


def downgrade() -> None:
    op.alter_column("device", "inventory_version", new_column_name="version")
