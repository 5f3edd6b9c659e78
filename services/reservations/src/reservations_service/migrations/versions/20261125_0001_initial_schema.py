"""Initial schema: read model, policies, reservations with the no-double-booking constraint

Revision ID: 0001
Revises:
Create Date: 2026-11-25 08:28:16.567306
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The exclusion constraint compares a uuid with `=` inside a GiST index: btree_gist
    # provides that operator class (a trusted extension: the database owner may create it).
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "dead_letter",
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.Column("event_type", sa.String(length=200), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
    )
    op.create_table(
        "device",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("inventory_version", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sa.String(length=7), nullable=False),
        sa.Column("institution_number", sa.String(length=20), nullable=True),
        sa.Column("catalogue_item_code", sa.String(length=60), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("os", sa.String(length=40), nullable=False),
        sa.Column("screen_inches", sa.Numeric(precision=3, scale=1), nullable=True),
        sa.Column("touch", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
    )
    op.create_index(
        "ix_device_institution_status", "device", ["institution_number", "status"], unique=False
    )
    op.create_table(
        "idempotency_record",
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("owner", "key", name=op.f("pk_idempotency_record")),
    )
    op.create_table(
        "inbox_message",
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox_message")),
    )
    op.create_table(
        "institution",
        sa.Column("registration_number", sa.String(length=20), nullable=False),
        sa.Column("municipality_code", sa.String(length=7), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("registration_number", name=op.f("pk_institution")),
    )
    op.create_index(
        op.f("ix_institution_municipality_code"), "institution", ["municipality_code"], unique=False
    )
    op.create_table(
        "outbox_message",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_message_event_id")),
    )
    op.create_index(
        "ix_outbox_message_unpublished",
        "outbox_message",
        ["seq"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "policy",
        sa.Column("municipality_code", sa.String(length=7), nullable=False),
        sa.Column("auto_approve", sa.Boolean(), nullable=False),
        sa.Column("max_active_per_learner", sa.Integer(), nullable=False),
        sa.Column("max_period_days", sa.Integer(), nullable=False),
        sa.Column("pickup_days", sa.Integer(), nullable=False),
        sa.Column("school_year_end", sa.String(length=5), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "max_active_per_learner >= 1", name=op.f("ck_policy_max_active_positive")
        ),
        sa.CheckConstraint("max_period_days >= 1", name=op.f("ck_policy_max_period_positive")),
        sa.CheckConstraint("pickup_days >= 1", name=op.f("ck_policy_pickup_positive")),
        sa.PrimaryKeyConstraint("municipality_code", name=op.f("pk_policy")),
    )
    op.create_table(
        "reservation",
        sa.Column("municipality_code", sa.String(length=7), nullable=False),
        sa.Column("institution_number", sa.String(length=20), nullable=False),
        sa.Column(
            "beneficiary",
            sa.Enum("learner", "teacher", "class", name="beneficiary"),
            nullable=False,
        ),
        sa.Column("learner_id", sa.String(length=100), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_device_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("os", sa.String(length=40), nullable=True),
        sa.Column("screen_inches", sa.Numeric(precision=3, scale=1), nullable=True),
        sa.Column("min_screen_inches", sa.Numeric(precision=3, scale=1), nullable=True),
        sa.Column("max_screen_inches", sa.Numeric(precision=3, scale=1), nullable=True),
        sa.Column("touch", sa.Boolean(), nullable=True),
        sa.Column("catalogue_item_code", sa.String(length=60), nullable=True),
        sa.Column("social_criteria", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("priority_score", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "requested",
                "waitlisted",
                "approved",
                "fulfilled",
                "cancelled",
                "rejected",
                "expired",
                name="reservation_state",
            ),
            nullable=False,
        ),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "period",
            postgresql.TSTZRANGE(),
            sa.Computed("tstzrange(period_start, period_end, '[)')", persisted=True),
            nullable=False,
        ),
        sa.Column("pickup_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        # No double booking, whatever the concurrency: two reservations that hold a device
        # (approved or fulfilled) may not share it over overlapping [start, end) periods.
        postgresql.ExcludeConstraint(
            (sa.text("device_id"), "="),
            (sa.text("period"), "&&"),
            where=sa.text("state IN ('approved', 'fulfilled')"),
            using="gist",
            name="ex_reservation_device_period",
        ),
        sa.CheckConstraint(
            "device_id IS NOT NULL OR state NOT IN ('approved', 'fulfilled')",
            name=op.f("ck_reservation_allocated_has_device"),
        ),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_reservation_period_order")),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_reservation_device_id_device")
        ),
        sa.ForeignKeyConstraint(
            ["institution_number"],
            ["institution.registration_number"],
            name=op.f("fk_reservation_institution_number_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_device_id"],
            ["device.id"],
            name=op.f("fk_reservation_requested_device_id_device"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservation")),
    )
    op.create_index(
        "ix_reservation_device_state", "reservation", ["device_id", "state"], unique=False
    )
    op.create_index(
        "ix_reservation_institution_order",
        "reservation",
        ["institution_number", "requested_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_reservation_learner_state", "reservation", ["learner_id", "state"], unique=False
    )
    op.create_index(
        "ix_reservation_municipality_order",
        "reservation",
        ["municipality_code", "requested_at", "id"],
        unique=False,
    )
    op.create_index("ix_reservation_order", "reservation", ["requested_at", "id"], unique=False)
    op.create_index(
        "ix_reservation_pickup",
        "reservation",
        ["pickup_deadline"],
        unique=False,
        postgresql_where=sa.text("state = 'approved'"),
    )
    op.create_index(
        "ix_reservation_waiting_end",
        "reservation",
        ["period_end"],
        unique=False,
        postgresql_where=sa.text("state IN ('requested', 'waitlisted')"),
    )
    op.create_index(
        "ix_reservation_waitlist",
        "reservation",
        ["institution_number", "state", "priority_score"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_reservation_waitlist", table_name="reservation")
    op.drop_index(
        "ix_reservation_waiting_end",
        table_name="reservation",
        postgresql_where=sa.text("state IN ('requested', 'waitlisted')"),
    )
    op.drop_index(
        "ix_reservation_pickup",
        table_name="reservation",
        postgresql_where=sa.text("state = 'approved'"),
    )
    op.drop_index("ix_reservation_order", table_name="reservation")
    op.drop_index("ix_reservation_municipality_order", table_name="reservation")
    op.drop_index("ix_reservation_learner_state", table_name="reservation")
    op.drop_index("ix_reservation_institution_order", table_name="reservation")
    op.drop_index("ix_reservation_device_state", table_name="reservation")
    op.drop_table("reservation")
    op.drop_table("policy")
    op.drop_index(
        "ix_outbox_message_unpublished",
        table_name="outbox_message",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox_message")
    op.drop_index(op.f("ix_institution_municipality_code"), table_name="institution")
    op.drop_table("institution")
    op.drop_table("inbox_message")
    op.drop_table("idempotency_record")
    op.drop_index("ix_device_institution_status", table_name="device")
    op.drop_table("device")
    op.drop_table("dead_letter")
    sa.Enum(name="reservation_state").drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="beneficiary").drop(op.get_bind(), checkfirst=True)
    # btree_gist stays: other schemas of the database may use it.
