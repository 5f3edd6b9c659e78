"""Device loss: a loss or theft the tickets service confirmed, recorded on the loan

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:39:46.271053
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contract", sa.Column("device_loss", sa.String(length=10), nullable=True))
    op.add_column(
        "contract", sa.Column("device_loss_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("contract", sa.Column("device_loss_ticket_id", sa.Uuid(), nullable=True))
    op.create_check_constraint(
        op.f("ck_contract_device_loss_kind"), "contract", "device_loss IN ('lost', 'stolen')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_contract_device_loss_kind"), "contract", type_="check")
    op.drop_column("contract", "device_loss_ticket_id")
    op.drop_column("contract", "device_loss_at")
    op.drop_column("contract", "device_loss")
