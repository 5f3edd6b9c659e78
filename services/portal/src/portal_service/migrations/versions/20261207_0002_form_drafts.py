"""Form drafts and their files

Revision ID: 0002_form_drafts
Revises: 0001
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_form_drafts"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "form_draft",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("flow", sa.String(length=40), nullable=False),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["web_session.id"],
            name=op.f("fk_form_draft_session_id_web_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_draft")),
        sa.UniqueConstraint("session_id", "flow", name=op.f("uq_form_draft_session_id_flow")),
    )
    op.create_index(op.f("ix_form_draft_updated_at"), "form_draft", ["updated_at"])
    op.create_table(
        "draft_file",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("draft_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["form_draft.id"],
            name=op.f("fk_draft_file_draft_id_form_draft"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_file")),
    )
    op.create_index(op.f("ix_draft_file_draft_id"), "draft_file", ["draft_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_draft_file_draft_id"), table_name="draft_file")
    op.drop_table("draft_file")
    op.drop_index(op.f("ix_form_draft_updated_at"), table_name="form_draft")
    op.drop_table("form_draft")
