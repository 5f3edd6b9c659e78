"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 06:08:52.749113
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
    op.create_table(
        "catalogue_item",
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("manufacturer", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column(
            "category",
            sa.Enum("laptop", "chromebook", "all_in_one", "tablet", "accessory", name="category"),
            nullable=False,
        ),
        sa.Column(
            "os",
            sa.Enum("windows", "chromeos", "macos", "linux", "none", name="operating_system"),
            nullable=False,
        ),
        sa.Column("screen_inches", sa.Numeric(precision=3, scale=1), nullable=True),
        sa.Column("touch", sa.Boolean(), nullable=False),
        sa.Column("specs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("base_warranty_months", sa.Integer(), nullable=False),
        sa.Column("school_levels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
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
        sa.CheckConstraint(
            "base_warranty_months >= 0", name=op.f("ck_catalogue_item_warranty_nonneg")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_item")),
        sa.UniqueConstraint("code", name=op.f("uq_catalogue_item_code")),
    )
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
        "municipality",
        sa.Column("code", sa.String(length=7), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_municipality")),
        sa.UniqueConstraint("code", name=op.f("uq_municipality_code")),
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
        "device_import",
        sa.Column("municipality_id", sa.Uuid(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=True),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("created_rows", sa.Integer(), nullable=False),
        sa.Column("unchanged_rows", sa.Integer(), nullable=False),
        sa.Column("failed_rows", sa.Integer(), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_device_import_municipality_id_municipality"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_import")),
    )
    op.create_index(
        op.f("ix_device_import_file_sha256"), "device_import", ["file_sha256"], unique=False
    )
    op.create_table(
        "institution",
        sa.Column("registration_number", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("municipality_id", sa.Uuid(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_institution_municipality_id_municipality"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institution")),
        sa.UniqueConstraint("registration_number", name=op.f("uq_institution_registration_number")),
    )
    op.create_index(
        op.f("ix_institution_municipality_id"), "institution", ["municipality_id"], unique=False
    )
    op.create_table(
        "device",
        sa.Column("serial_number", sa.String(length=100), nullable=False),
        sa.Column("asset_tag", sa.String(length=60), nullable=False),
        sa.Column("catalogue_item_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=True),
        sa.Column(
            "funding_source",
            sa.Enum(
                "react_eu",
                "recovery_fund",
                "eu_funds_2021_2027",
                "municipal_budget",
                "other",
                name="funding_source",
            ),
            nullable=False,
        ),
        sa.Column("order_reference", sa.String(length=100), nullable=True),
        sa.Column("delivery_date", sa.Date(), nullable=True),
        sa.Column("purchase_price", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("extra_warranty_months", sa.Integer(), nullable=False),
        sa.Column("warranty_ends_on", sa.Date(), nullable=True),
        sa.Column("insurer", sa.String(length=200), nullable=True),
        sa.Column("insurance_policy", sa.String(length=100), nullable=True),
        sa.Column("insured_until", sa.Date(), nullable=True),
        sa.Column(
            "condition", sa.Enum("new", "good", "fair", "damaged", name="condition"), nullable=False
        ),
        sa.Column("accessories", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "in_stock",
                "available",
                "reserved",
                "on_loan",
                "in_repair",
                "lost",
                "stolen",
                "written_off",
                name="device_status",
            ),
            nullable=False,
        ),
        sa.Column(
            "status_before_repair",
            sa.Enum(
                "in_stock",
                "available",
                "reserved",
                "on_loan",
                "in_repair",
                "lost",
                "stolen",
                "written_off",
                name="device_status",
            ),
            nullable=True,
        ),
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
        sa.CheckConstraint(
            "extra_warranty_months >= 0", name=op.f("ck_device_extra_warranty_nonneg")
        ),
        sa.CheckConstraint("purchase_price >= 0", name=op.f("ck_device_price_nonneg")),
        sa.ForeignKeyConstraint(
            ["catalogue_item_id"],
            ["catalogue_item.id"],
            name=op.f("fk_device_catalogue_item_id_catalogue_item"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_device_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_device_municipality_id_municipality"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
        sa.UniqueConstraint(
            "municipality_id", "asset_tag", name=op.f("uq_device_municipality_id_asset_tag")
        ),
        sa.UniqueConstraint("serial_number", name=op.f("uq_device_serial_number")),
    )
    op.create_index(
        "ix_device_institution_tag", "device", ["institution_id", "asset_tag", "id"], unique=False
    )
    op.create_index(
        "ix_device_municipality_tag", "device", ["municipality_id", "asset_tag", "id"], unique=False
    )
    op.create_index(
        "ix_device_serial_prefix",
        "device",
        ["serial_number"],
        unique=False,
        postgresql_ops={"serial_number": "varchar_pattern_ops"},
    )
    op.create_index("ix_device_status", "device", ["status"], unique=False)
    op.create_index(
        "ix_device_tag_prefix",
        "device",
        ["asset_tag"],
        unique=False,
        postgresql_ops={"asset_tag": "varchar_pattern_ops"},
    )
    op.create_index("ix_device_warranty", "device", ["warranty_ends_on"], unique=False)
    op.create_table(
        "device_history",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("device_version", sa.Integer(), nullable=False),
        sa.Column("correlation_id", sa.String(length=100), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_device_history_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_history")),
        sa.UniqueConstraint("seq", name=op.f("uq_device_history_seq")),
    )
    op.create_index(
        "ix_device_history_device_seq", "device_history", ["device_id", "seq"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_device_history_device_seq", table_name="device_history")
    op.drop_table("device_history")
    op.drop_index("ix_device_warranty", table_name="device")
    op.drop_index(
        "ix_device_tag_prefix",
        table_name="device",
        postgresql_ops={"asset_tag": "varchar_pattern_ops"},
    )
    op.drop_index("ix_device_status", table_name="device")
    op.drop_index(
        "ix_device_serial_prefix",
        table_name="device",
        postgresql_ops={"serial_number": "varchar_pattern_ops"},
    )
    op.drop_index("ix_device_municipality_tag", table_name="device")
    op.drop_index("ix_device_institution_tag", table_name="device")
    op.drop_table("device")
    op.drop_index(op.f("ix_institution_municipality_id"), table_name="institution")
    op.drop_table("institution")
    op.drop_index(op.f("ix_device_import_file_sha256"), table_name="device_import")
    op.drop_table("device_import")
    op.drop_index(
        "ix_outbox_message_unpublished",
        table_name="outbox_message",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox_message")
    op.drop_table("municipality")
    op.drop_table("inbox_message")
    op.drop_table("idempotency_record")
    op.drop_table("dead_letter")
    op.drop_table("catalogue_item")
    for name in ("device_status", "condition", "funding_source", "operating_system", "category"):
        sa.Enum(name=name).drop(op.get_bind(), checkfirst=True)
