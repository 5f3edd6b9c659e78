"""Loaner reservations: the tickets service's ticket a reservation replaces a device for

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:38:51.510595
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reservation", sa.Column("loaner_ticket_id", sa.Uuid(), nullable=True))
    op.create_unique_constraint(
        op.f("uq_reservation_loaner_ticket_id"), "reservation", ["loaner_ticket_id"]
    )


def downgrade() -> None:
    op.drop_constraint(op.f("uq_reservation_loaner_ticket_id"), "reservation", type_="unique")
    op.drop_column("reservation", "loaner_ticket_id")
