"""Provisional snapshots: today's record of an institution is replaced until the day closes

Records so far were taken once, at the start of their day. The newest day's may be today's:
they become provisional (refreshed by the next snapshot run, or made final if their day is
over); all others are final. Every stored record gains `provisional` (feed schema 1.1.0).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "institution_snapshot",
        sa.Column("provisional", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(
        "UPDATE institution_snapshot SET provisional = "
        "(snapshot_date = (SELECT max(snapshot_date) FROM institution_snapshot))"
    )
    op.execute(
        "UPDATE institution_snapshot SET record = record || "
        "jsonb_build_object('provisional', provisional, 'schema_version', '1.1.0')"
    )
    op.create_index(
        "ix_institution_snapshot_provisional",
        "institution_snapshot",
        ["snapshot_date"],
        unique=False,
        postgresql_where=sa.text("provisional"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_institution_snapshot_provisional",
        table_name="institution_snapshot",
        postgresql_where=sa.text("provisional"),
    )
    op.execute(
        "UPDATE institution_snapshot SET record = (record - 'provisional') || "
        "jsonb_build_object('schema_version', '1.0.0')"
    )
    op.drop_column("institution_snapshot", "provisional")
