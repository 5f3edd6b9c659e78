"""Learner criteria verified in planning's needs survey, and the ones a reservation counted

Revision ID: 0007
Revises: 0002
Create Date: 2026-12-07 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learner_criterion",
        sa.Column("learner_id", sa.String(length=100), nullable=False),
        sa.Column("criterion", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "learner_id", "criterion", "source", "round_id", name=op.f("pk_learner_criterion")
        ),
    )
    op.add_column(
        "reservation",
        sa.Column(
            "verified_criteria",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("reservation", "verified_criteria")
    op.drop_table("learner_criterion")
