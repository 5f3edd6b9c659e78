"""Ticket reporter_is_person: whether the reporter is a person (events name them)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "ticket",
        sa.Column(
            "reporter_is_person", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    # The opening transition names its actor as `person:<subject>` or `client:<id>`; an
    # institution's ticket (a damaged return) names the institution.
    op.execute(
        "UPDATE ticket SET reporter_is_person = true WHERE reporter_kind <> 'institution' "
        "AND EXISTS (SELECT 1 FROM ticket_transition tr WHERE tr.ticket_id = ticket.id "
        "AND tr.from_state IS NULL AND tr.actor = 'person:' || ticket.reporter_id)"
    )


def downgrade() -> None:
    op.drop_column("ticket", "reporter_is_person")
