"""Ticket state in_repair: the technician took the device in (in_progress no longer does)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 04:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATES = (
    "new",
    "acknowledged",
    "in_progress",
    "waiting_for_parts",
    "waiting_for_reporter",
    "resolved",
    "closed",
)
STATE_COLUMNS = (("ticket", "state"), ("ticket_transition", "from_state"),
                 ("ticket_transition", "to_state"))  # fmt: skip
OPEN = sa.text("state NOT IN ('resolved', 'closed')")


def upgrade() -> None:
    # Nothing in this transaction uses the new value, so ADD VALUE may run inside it.
    op.execute("ALTER TYPE ticket_state ADD VALUE IF NOT EXISTS 'in_repair' AFTER 'in_progress'")


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value: in_repair goes back to in_progress (the repair stays
    # under way, as before this revision) and the type is rebuilt without it. The open-queue
    # index's predicate names the type, so it is rebuilt with it.
    for table, column in STATE_COLUMNS:
        op.execute(f"UPDATE {table} SET {column} = 'in_progress' WHERE {column} = 'in_repair'")
    op.drop_index("ix_ticket_open_queue", table_name="ticket", postgresql_where=OPEN)
    op.execute("ALTER TYPE ticket_state RENAME TO ticket_state_old")
    values = ", ".join(f"'{v}'" for v in OLD_STATES)
    op.execute(f"CREATE TYPE ticket_state AS ENUM ({values})")
    for table, column in STATE_COLUMNS:
        op.execute(
            f"ALTER TABLE {table} ALTER COLUMN {column} TYPE ticket_state "
            f"USING {column}::text::ticket_state"
        )
    op.execute("DROP TYPE ticket_state_old")
    op.create_index(
        "ix_ticket_open_queue",
        "ticket",
        ["municipality_code", "opened_at", "id"],
        unique=False,
        postgresql_where=OPEN,
    )
