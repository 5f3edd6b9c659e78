"""Drop projection_position: events are deduplicated by id (the inbox), not by offset

Offsets start again from 0 when a topic is re-created (or the embedded broker restarts), so
a stored offset said nothing about the events that came after; the live consumer skipped them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("projection_position")


def downgrade() -> None:
    op.create_table(
        "projection_position",
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("topic", "partition", name=op.f("pk_projection_position")),
    )
