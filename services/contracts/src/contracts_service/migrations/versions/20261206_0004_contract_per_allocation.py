"""A reservation may have cancelled contracts beside its one live contract

A reservation that gave up its device (`reservation.device_withdrawn`) has its unsigned
contract cancelled; its next approval drafts a new contract for the new device. So
`reservation_id` is unique only among contracts that are not cancelled.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("uq_contract_reservation_id", "contract", type_="unique")
    op.create_index("ix_contract_reservation_id", "contract", ["reservation_id"])
    op.create_index(
        "uq_contract_live_reservation",
        "contract",
        ["reservation_id"],
        unique=True,
        postgresql_where=sa.text("state <> 'cancelled'"),
    )


def downgrade() -> None:
    # Fails while a reservation has more than one contract: that history cannot be undone.
    op.drop_index("uq_contract_live_reservation", table_name="contract")
    op.drop_index("ix_contract_reservation_id", table_name="contract")
    op.create_unique_constraint("uq_contract_reservation_id", "contract", ["reservation_id"])
