"""Initial schema: contracts, immutable documents, signatures, returns, lenders, devices.

A trigger makes `contract_document` insert-only: no stored PDF or hash can ever change.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 08:45:12.114717
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


IMMUTABLE_FUNCTION = """
CREATE FUNCTION contract_document_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'contract documents are immutable (% refused)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$
"""
IMMUTABLE_TRIGGER = """
CREATE TRIGGER contract_document_immutable
    BEFORE UPDATE OR DELETE ON contract_document
    FOR EACH ROW EXECUTE FUNCTION contract_document_immutable()
"""
ENUMS = ("party", "return_condition", "document_kind", "lender_kind", "contract_state")


def upgrade() -> None:
    op.create_table(
        "contract",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("reservation_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=7), nullable=False),
        sa.Column("institution_number", sa.String(length=20), nullable=False),
        sa.Column("learner_id", sa.String(length=100), nullable=False),
        sa.Column("borrower_id", sa.Uuid(), nullable=False),
        sa.Column("borrower_given_name", sa.String(length=200), nullable=True),
        sa.Column("borrower_family_name", sa.String(length=200), nullable=True),
        sa.Column("borrower_personal_code_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "drafted",
                "awaiting_borrower",
                "awaiting_lender",
                "active",
                "returned",
                "cancelled",
                "expired",
                "terminated",
                name="contract_state",
            ),
            nullable=False,
        ),
        sa.Column("template_version", sa.String(length=40), nullable=False),
        sa.Column("terms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("current_document", sa.Integer(), nullable=False),
        sa.Column("lender_complete", sa.Boolean(), nullable=False),
        sa.Column("sign_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("borrower_signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lender_signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("terminated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
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
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_contract_period_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract")),
        sa.UniqueConstraint("number", name=op.f("uq_contract_number")),
        sa.UniqueConstraint("reservation_id", name=op.f("uq_contract_reservation_id")),
    )
    op.create_index(op.f("ix_contract_borrower_id"), "contract", ["borrower_id"], unique=False)
    op.create_index(
        "ix_contract_borrower_order", "contract", ["borrower_id", "created_at", "id"], unique=False
    )
    op.create_index("ix_contract_created_order", "contract", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_contract_device_id"), "contract", ["device_id"], unique=False)
    op.create_index(
        "ix_contract_institution_order",
        "contract",
        ["institution_number", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_contract_municipality_order",
        "contract",
        ["municipality_code", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_contract_state_period_end", "contract", ["state", "period_end"], unique=False
    )
    op.create_index("ix_contract_state_sign_by", "contract", ["state", "sign_by"], unique=False)
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
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("asset_tag", sa.String(length=60), nullable=False),
        sa.Column("serial_number", sa.String(length=100), nullable=False),
        sa.Column("municipality_code", sa.String(length=7), nullable=False),
        sa.Column("institution_number", sa.String(length=20), nullable=True),
        sa.Column("catalogue_item_code", sa.String(length=60), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("manufacturer", sa.String(length=100), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("accessories", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("purchase_price", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("insured_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
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
        "lender",
        sa.Column(
            "kind", sa.Enum("municipality", "institution", name="lender_kind"), nullable=False
        ),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("municipality_code", sa.String(length=7), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("registration_number", sa.String(length=30), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("representative", sa.String(length=300), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lender")),
        sa.UniqueConstraint("kind", "code", name=op.f("uq_lender_kind_code")),
    )
    op.create_index(
        op.f("ix_lender_municipality_code"), "lender", ["municipality_code"], unique=False
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
        "contract_document",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("draft", "sealed", name="document_kind"), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("template_version", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contract.id"], name=op.f("fk_contract_document_contract_id_contract")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_document")),
        sa.UniqueConstraint(
            "contract_id", "number", name=op.f("uq_contract_document_contract_id_number")
        ),
    )
    op.create_index(
        op.f("ix_contract_document_sha256"), "contract_document", ["sha256"], unique=False
    )
    op.create_table(
        "contract_return",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column(
            "condition",
            sa.Enum("good", "damaged", "accessories_missing", name="return_condition"),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contract.id"], name=op.f("fk_contract_return_contract_id_contract")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_return")),
        sa.UniqueConstraint("contract_id", name=op.f("uq_contract_return_contract_id")),
    )
    op.create_table(
        "return_photo",
        sa.Column("return_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=True),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["contract_return.id"],
            name=op.f("fk_return_photo_return_id_contract_return"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_photo")),
        sa.UniqueConstraint(
            "return_id", "position", name=op.f("uq_return_photo_return_id_position")
        ),
    )
    op.create_index(op.f("ix_return_photo_return_id"), "return_photo", ["return_id"], unique=False)
    op.create_table(
        "signature",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("party", sa.Enum("borrower", "lender", name="party"), nullable=False),
        sa.Column("signer_id", sa.String(length=200), nullable=False),
        sa.Column("signer_name", sa.String(length=400), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idp", sa.String(length=40), nullable=True),
        sa.Column("amr", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("consent_version", sa.String(length=40), nullable=False),
        sa.Column("client_address", sa.String(length=100), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contract.id"], name=op.f("fk_signature_contract_id_contract")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["contract_document.id"],
            name=op.f("fk_signature_document_id_contract_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature")),
        sa.UniqueConstraint("contract_id", "party", name=op.f("uq_signature_contract_id_party")),
    )
    op.create_index(op.f("ix_signature_contract_id"), "signature", ["contract_id"], unique=False)

    op.execute(IMMUTABLE_FUNCTION)
    op.execute(IMMUTABLE_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER contract_document_immutable ON contract_document")
    op.execute("DROP FUNCTION contract_document_immutable()")
    op.drop_index(op.f("ix_signature_contract_id"), table_name="signature")
    op.drop_table("signature")
    op.drop_index(op.f("ix_return_photo_return_id"), table_name="return_photo")
    op.drop_table("return_photo")
    op.drop_table("contract_return")
    op.drop_index(op.f("ix_contract_document_sha256"), table_name="contract_document")
    op.drop_table("contract_document")
    op.drop_index(
        "ix_outbox_message_unpublished",
        table_name="outbox_message",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox_message")
    op.drop_index(op.f("ix_lender_municipality_code"), table_name="lender")
    op.drop_table("lender")
    op.drop_table("inbox_message")
    op.drop_table("idempotency_record")
    op.drop_table("device")
    op.drop_table("dead_letter")
    op.drop_index("ix_contract_state_sign_by", table_name="contract")
    op.drop_index("ix_contract_state_period_end", table_name="contract")
    op.drop_index("ix_contract_municipality_order", table_name="contract")
    op.drop_index("ix_contract_institution_order", table_name="contract")
    op.drop_index(op.f("ix_contract_device_id"), table_name="contract")
    op.drop_index("ix_contract_created_order", table_name="contract")
    op.drop_index("ix_contract_borrower_order", table_name="contract")
    op.drop_index(op.f("ix_contract_borrower_id"), table_name="contract")
    op.drop_table("contract")
    for name in ENUMS:
        sa.Enum(name=name).drop(op.get_bind(), checkfirst=True)
