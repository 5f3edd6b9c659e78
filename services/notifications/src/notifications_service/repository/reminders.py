"""SQL of reminders: planned, claimed when due, cancelled."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.models import (
    Reminder,
    ReminderState,
)


class ReminderRepository:
    """Planned messages."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def plan(self, values: dict[str, Any]) -> None:
        """Plan a slot: new, moved, or back after a cancellation; a slot done stays done."""
        stmt = insert(Reminder).values(id=uuid.uuid4(), state=ReminderState.PLANNED, **values)
        changed = {k: stmt.excluded[k] for k in ("person_id", "due_at", "params", "link")}
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Reminder.cause],
                set_={**changed, "state": ReminderState.PLANNED, "updated_at": func.now()},
                where=Reminder.state != ReminderState.DONE,
            )
        )

    async def cancel_other(
        self, subject_id: str, kinds: Sequence[str], keep: Sequence[str]
    ) -> None:
        """Cancel a subject's planned reminders of these kinds, except the causes kept."""
        await self.session.execute(
            update(Reminder)
            .where(
                Reminder.subject_id == subject_id,
                Reminder.kind.in_(kinds),
                Reminder.state == ReminderState.PLANNED,
                Reminder.cause.not_in(keep),
            )
            .values(state=ReminderState.CANCELLED, updated_at=func.now())
        )

    async def claim_due(self, now: dt.datetime, limit: int) -> Sequence[Reminder]:
        """Planned reminders due by `now`, locked; rows another replica holds are skipped."""
        stmt = (
            select(Reminder)
            .where(Reminder.state == ReminderState.PLANNED, Reminder.due_at <= now)
            .order_by(Reminder.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(stmt)).all()

    async def of_subject(self, subject_id: str) -> Sequence[Reminder]:
        """A subject's reminders in due order (tests and diagnostics)."""
        stmt = select(Reminder).where(Reminder.subject_id == subject_id).order_by(Reminder.due_at)
        return (await self.session.scalars(stmt)).all()
