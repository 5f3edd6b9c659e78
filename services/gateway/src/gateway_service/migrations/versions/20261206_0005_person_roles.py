"""person roles: VIIS staff positions of the last login, the last published staff roles

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "person",
        sa.Column(
            "viis_staff",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("person", sa.Column("published_roles", postgresql.JSONB(astext_type=sa.Text())))


def downgrade() -> None:
    op.drop_column("person", "published_roles")
    op.drop_column("person", "viis_staff")
