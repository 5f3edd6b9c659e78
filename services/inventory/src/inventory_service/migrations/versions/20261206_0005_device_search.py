"""Indexes for every sort order of the device search

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A device without a warranty end sorts after every date (the search's order expression).
WARRANTY_ORDER = sa.text("COALESCE(warranty_ends_on, '9999-12-31'::date)")


def upgrade() -> None:
    # Keyset pages of one municipality (the console) and across all (analysts) in each order,
    # walked in index order instead of sorting the matching devices.
    op.create_index(
        "ix_device_municipality_serial", "device", ["municipality_id", "serial_number", "id"]
    )
    op.create_index(
        "ix_device_municipality_created", "device", ["municipality_id", "created_at", "id"]
    )
    op.create_index("ix_device_municipality_status", "device", ["municipality_id", "status", "id"])
    op.create_index("ix_device_status_order", "device", ["status", "id"])
    op.create_index(
        "ix_device_municipality_warranty", "device", ["municipality_id", WARRANTY_ORDER, "id"]
    )
    op.create_index("ix_device_warranty_order", "device", [WARRANTY_ORDER, "id"])


def downgrade() -> None:
    for name in (
        "ix_device_warranty_order",
        "ix_device_municipality_warranty",
        "ix_device_status_order",
        "ix_device_municipality_status",
        "ix_device_municipality_created",
        "ix_device_municipality_serial",
    ):
        op.drop_index(name, table_name="device")
