"""Institutions as VIIS lists them: address, grades taught, when last read from VIIS

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("institution", sa.Column("address", sa.String(300), nullable=True))
    op.add_column(
        "institution",
        sa.Column(
            "grades",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )
    op.add_column(
        "institution",
        sa.Column("viis_synced_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("institution", "viis_synced_at")
    op.drop_column("institution", "grades")
    op.drop_column("institution", "address")
