"""Indexes for keyset order across municipalities

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 07:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Without these, a search that is not limited to one municipality sorts the whole table.
    op.create_index("ix_device_tag_order", "device", ["asset_tag", "id"])
    op.create_index("ix_device_created_order", "device", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_device_created_order", table_name="device")
    op.drop_index("ix_device_tag_order", table_name="device")
