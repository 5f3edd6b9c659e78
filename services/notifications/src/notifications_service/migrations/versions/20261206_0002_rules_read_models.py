"""The rules' read models: reservations, contracts, staff roles, daily digests made

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _updated_at() -> sa.Column:
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "tracked_reservation",
        sa.Column("reservation_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("municipality_code", sa.String(length=20), nullable=False),
        sa.Column("institution_number", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("loaner", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("pickup_deadline", sa.DateTime(timezone=True), nullable=True),
        _updated_at(),
        sa.PrimaryKeyConstraint("reservation_id", name=op.f("pk_tracked_reservation")),
    )
    op.create_index(
        "ix_tracked_reservation_waiting",
        "tracked_reservation",
        ["institution_number"],
        unique=False,
        postgresql_where=sa.text("state = 'requested'"),
    )
    op.create_table(
        "tracked_contract",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("reservation_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("institution_number", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        _updated_at(),
        sa.PrimaryKeyConstraint("contract_id", name=op.f("pk_tracked_contract")),
    )
    op.create_index(
        op.f("ix_tracked_contract_reservation_id"),
        "tracked_contract",
        ["reservation_id"],
        unique=False,
    )
    op.create_table(
        "staff_member",
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("roles", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_staff_member")),
    )
    op.create_index(
        "ix_staff_member_roles",
        "staff_member",
        ["roles"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_table(
        "digest_run",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "made_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", "day", name=op.f("pk_digest_run")),
    )


def downgrade() -> None:
    op.drop_table("digest_run")
    op.drop_index("ix_staff_member_roles", table_name="staff_member", postgresql_using="gin")
    op.drop_table("staff_member")
    op.drop_index(op.f("ix_tracked_contract_reservation_id"), table_name="tracked_contract")
    op.drop_table("tracked_contract")
    op.drop_index(
        "ix_tracked_reservation_waiting",
        table_name="tracked_reservation",
        postgresql_where=sa.text("state = 'requested'"),
    )
    op.drop_table("tracked_reservation")
