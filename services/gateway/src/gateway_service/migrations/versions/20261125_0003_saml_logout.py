"""saml single logout: SAML session of codes and refresh families, logout attempts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAML_COLUMNS = ("saml_name_id_encrypted", "saml_name_id_hmac", "saml_session_index")


def _saml_columns(table: str) -> None:
    op.add_column(table, sa.Column("saml_name_id_encrypted", sa.Text(), nullable=True))
    op.add_column(table, sa.Column("saml_name_id_hmac", sa.String(length=64), nullable=True))
    op.add_column(table, sa.Column("saml_session_index", sa.String(length=200), nullable=True))


def upgrade() -> None:
    _saml_columns("authorization_code")
    _saml_columns("refresh_family")
    op.create_index(
        op.f("ix_refresh_family_saml_name_id_hmac"), "refresh_family", ["saml_name_id_hmac"]
    )
    op.create_table(
        "logout_attempt",
        sa.Column("request_id", sa.String(length=80), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("return_to", sa.Text(), nullable=False),
        sa.Column("client_state", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_logout_attempt_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logout_attempt")),
        sa.UniqueConstraint("request_id", name=op.f("uq_logout_attempt_request_id")),
    )
    op.create_index(op.f("ix_logout_attempt_expires_at"), "logout_attempt", ["expires_at"])


def downgrade() -> None:
    op.drop_table("logout_attempt")
    op.drop_index(op.f("ix_refresh_family_saml_name_id_hmac"), table_name="refresh_family")
    for table in ("refresh_family", "authorization_code"):
        for column in SAML_COLUMNS:
            op.drop_column(table, column)
