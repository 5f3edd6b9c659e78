"""login flow: login attempts, authorization codes, person.viis_id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 07:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.add_column("person", sa.Column("viis_id", sa.String(length=64), nullable=True))
    op.create_unique_constraint(op.f("uq_person_viis_id"), "person", ["viis_id"])
    op.alter_column("person", "personal_code_hmac", existing_type=sa.String(64), nullable=True)
    op.alter_column("person", "personal_code_encrypted", existing_type=sa.Text(), nullable=True)
    op.create_table(
        "login_attempt",
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("state_sha256", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=True),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("return_to", sa.Text(), nullable=False),
        sa.Column("client_state", sa.String(length=500), nullable=True),
        sa.Column("client_code_challenge", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
        sa.UniqueConstraint("state_sha256", name=op.f("uq_login_attempt_state_sha256")),
    )
    op.create_index(op.f("ix_login_attempt_expires_at"), "login_attempt", ["expires_at"])
    op.create_table(
        "authorization_code",
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("idp", sa.String(length=40), nullable=False),
        sa.Column("amr", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("login_claims", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("return_to", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_authorization_code_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorization_code")),
        sa.UniqueConstraint("code_sha256", name=op.f("uq_authorization_code_code_sha256")),
    )
    op.create_index(op.f("ix_authorization_code_expires_at"), "authorization_code", ["expires_at"])


def downgrade() -> None:
    op.drop_table("authorization_code")
    op.drop_table("login_attempt")
    op.drop_constraint(op.f("uq_person_viis_id"), "person", type_="unique")
    op.drop_column("person", "viis_id")
