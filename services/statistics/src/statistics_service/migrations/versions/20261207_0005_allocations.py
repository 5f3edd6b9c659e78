"""Planning's allocation rounds and lines; devices by the order reference they came under

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 09:00:00.000000

Devices counted before this revision have no order reference here: run `statistics-rebuild`
after upgrading so that deliveries already in the inventory's events count.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "allocation_line",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("institution_number", sa.String(length=20), nullable=False),
        sa.Column("municipality_code", sa.String(length=7), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("allocated_version", sa.BigInteger(), nullable=False),
        sa.Column("ordered", sa.Integer(), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("round_id", "institution_number", name=op.f("pk_allocation_line")),
    )
    op.create_index(
        "ix_allocation_line_municipality",
        "allocation_line",
        ["round_id", "municipality_code"],
        unique=False,
    )
    op.create_table(
        "allocation_round",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("funding_programme", sa.String(length=200), nullable=False),
        sa.Column("order_reference", sa.String(length=100), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_allocation_round")),
    )
    op.create_index(
        op.f("ix_allocation_round_order_reference"),
        "allocation_round",
        ["order_reference"],
        unique=False,
    )
    op.create_table(
        "device_order_count",
        sa.Column("municipality_code", sa.String(length=7), nullable=False),
        sa.Column("institution_number", sa.String(length=20), nullable=False),
        sa.Column("order_reference", sa.String(length=100), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "municipality_code",
            "institution_number",
            "order_reference",
            name=op.f("pk_device_order_count"),
        ),
    )
    op.add_column(
        "device_state", sa.Column("order_reference", sa.String(length=100), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("device_state", "order_reference")
    op.drop_table("device_order_count")
    op.drop_index(op.f("ix_allocation_round_order_reference"), table_name="allocation_round")
    op.drop_table("allocation_round")
    op.drop_index("ix_allocation_line_municipality", table_name="allocation_line")
    op.drop_table("allocation_line")
