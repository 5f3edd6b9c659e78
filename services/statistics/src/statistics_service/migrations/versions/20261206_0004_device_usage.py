"""Device usage: every device version, each device's use, the usage counters, usage in snapshots

A device's use (loans, idleness, repairs) is computed from all of its versions, which the read
model did not keep so far: the new tables start empty and fill as device events arrive; run
`statistics-rebuild` after upgrading for the whole history. Stored feed records gain
`usage: null` (not measured then) and schema version 1.2.0.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDLE = "idle_since IS NOT NULL"
NEVER_LENT = "idle_since IS NOT NULL AND NOT ever_lent"
IDLE_INDEXES = (
    ("ix_device_usage_idle", IDLE, ()),
    ("ix_device_usage_idle_municipality", IDLE, ("municipality_code",)),
    ("ix_device_usage_idle_institution", IDLE, ("institution_number",)),
    ("ix_device_usage_never_lent", NEVER_LENT, ()),
    ("ix_device_usage_never_lent_municipality", NEVER_LENT, ("municipality_code",)),
    ("ix_device_usage_never_lent_institution", NEVER_LENT, ("institution_number",)),
)
SNAPSHOT_COLUMNS = (
    "devices_lendable",
    "devices_on_loan",
    "devices_idle",
    "devices_never_lent",
    "loan_days_30",
    "loan_days_90",
    "loan_days_365",
)


def _where() -> list[sa.Column]:
    return [
        sa.Column("municipality_code", sa.String(length=7), nullable=False),
        sa.Column("institution_number", sa.String(length=20), nullable=False),
    ]


def upgrade() -> None:
    op.add_column("device_state", sa.Column("delivered_on", sa.Date(), nullable=True))
    op.create_table(
        "device_status_change",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "version", name=op.f("pk_device_status_change")),
    )
    op.create_table(
        "device_usage",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        *_where(),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("os", sa.String(length=40), nullable=False),
        sa.Column("funding_source", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=False),
        sa.Column("ever_available", sa.Boolean(), nullable=False),
        sa.Column("ever_lent", sa.Boolean(), nullable=False),
        sa.Column("last_loan_ended_on", sa.Date(), nullable=True),
        sa.Column("status_since", sa.Date(), nullable=False),
        sa.Column("idle_since", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_usage")),
    )
    for name, where, area in IDLE_INDEXES:
        op.create_index(
            name,
            "device_usage",
            [*area, "idle_since", "device_id"],
            unique=False,
            postgresql_where=sa.text(where),
        )
    op.create_table(
        "device_usage_count",
        *_where(),
        sa.Column("funding_source", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("ever_available", sa.Boolean(), nullable=False),
        sa.Column("ever_lent", sa.Boolean(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "municipality_code",
            "institution_number",
            "funding_source",
            "status",
            "ever_available",
            "ever_lent",
            "since",
            name=op.f("pk_device_usage_count"),
        ),
    )
    op.create_table(
        "loan_day_count",
        *_where(),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "municipality_code",
            "institution_number",
            "started_on",
            "ended_on",
            name=op.f("pk_loan_day_count"),
        ),
    )
    for column in SNAPSHOT_COLUMNS:
        op.add_column("institution_snapshot", sa.Column(column, sa.Integer(), nullable=True))
    op.execute(
        "UPDATE institution_snapshot SET record = record || jsonb_build_object("
        "'schema_version', '1.2.0', 'figures', record->'figures' || '{\"usage\": null}')"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE institution_snapshot SET record = record || jsonb_build_object("
        "'schema_version', '1.1.0', 'figures', (record->'figures') - 'usage')"
    )
    for column in SNAPSHOT_COLUMNS:
        op.drop_column("institution_snapshot", column)
    op.drop_table("loan_day_count")
    op.drop_table("device_usage_count")
    for name, where, _ in IDLE_INDEXES:
        op.drop_index(name, table_name="device_usage", postgresql_where=sa.text(where))
    op.drop_table("device_usage")
    op.drop_table("device_status_change")
    op.drop_column("device_state", "delivered_on")
