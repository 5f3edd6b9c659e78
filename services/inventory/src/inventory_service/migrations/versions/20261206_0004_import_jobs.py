"""Import jobs: background imports with their state, progress, file and lease

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("queued", "running", "done", "failed")


def upgrade() -> None:
    postgresql.ENUM(*STATES, name="import_state").create(op.get_bind())
    import_state = postgresql.ENUM(*STATES, name="import_state", create_type=False)
    op.add_column(
        "device_import",
        sa.Column("state", import_state, server_default="done", nullable=False),
    )
    op.add_column(
        "device_import",
        sa.Column("processed_rows", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "device_import",
        sa.Column(
            "columns",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )
    op.add_column("device_import", sa.Column("content", sa.LargeBinary(), nullable=True))
    op.add_column("device_import", sa.Column("lease_owner", sa.Uuid(), nullable=True))
    op.add_column(
        "device_import", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "device_import", sa.Column("correlation_id", sa.String(length=100), nullable=True)
    )
    op.add_column(
        "device_import", sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True)
    )
    # Earlier imports were synchronous: done, every row processed, when they were made.
    op.execute("UPDATE device_import SET processed_rows = total_rows, finished_at = created_at")
    op.create_index(
        "ix_device_import_municipality_created",
        "device_import",
        ["municipality_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_device_import_pending",
        "device_import",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("state IN ('queued', 'running')"),
    )


def downgrade() -> None:
    op.drop_index("ix_device_import_pending", table_name="device_import")
    op.drop_index("ix_device_import_municipality_created", table_name="device_import")
    for column in (
        "finished_at",
        "correlation_id",
        "lease_until",
        "lease_owner",
        "content",
        "columns",
        "processed_rows",
        "state",
    ):
        op.drop_column("device_import", column)
    postgresql.ENUM(name="import_state").drop(op.get_bind())
