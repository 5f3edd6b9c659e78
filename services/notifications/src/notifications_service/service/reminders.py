"""Reminders: slots planned from the events' dates, re-planned when the dates move.

A slot is a kind, a subject (contract, reservation, ticket) and the moment it is for; its
cause `<kind>:<subject>:<key>` is unique, so planning it again changes nothing, and the
notice it becomes carries the same cause. Re-planning a subject's kinds cancels the planned
slots that no longer hold and plans the new ones; a slot already done is never made again.
Reminders fall at a local hour (`AT_HOUR`, Europe/Riga) on the day they are for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.repository.reminders import ReminderRepository

AT_HOUR = 9
# A reminder for a group rather than one person: resolved from the roster when it falls due.
TECHNICIANS = "technicians:"


@dataclass(frozen=True)
class Slot:
    """One planned message."""

    kind: str
    subject_id: str
    key: str  # the day or moment it is for
    person_id: str
    due_at: dt.datetime
    params: dict[str, Any] = field(default_factory=dict)
    link: str | None = None

    @property
    def cause(self) -> str:
        """The slot's unique cause (and its notice's)."""
        return f"{self.kind}:{self.subject_id}:{self.key}"


def local_day(moment: dt.datetime, timezone: str) -> dt.date:
    """The local day of a moment."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def at_local(day: dt.date, timezone: str, hour: int = AT_HOUR) -> dt.datetime:
    """A local hour of a day, as an aware UTC moment."""
    local = dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo(timezone))
    return local.astimezone(dt.UTC)


async def replan(
    session: AsyncSession,
    *,
    subject_id: str,
    kinds: Sequence[str],
    slots: Sequence[Slot],
    now: dt.datetime,
) -> None:
    """Make a subject's planned reminders of `kinds` exactly `slots` (the past ones are not
    planned anew, but one planned earlier and not yet made still fires)."""
    repo = ReminderRepository(session)
    await repo.cancel_other(subject_id, kinds, [s.cause for s in slots])
    for slot in (s for s in slots if s.due_at >= now):
        await repo.plan(
            {
                "cause": slot.cause,
                "kind": slot.kind,
                "subject_id": slot.subject_id,
                "person_id": slot.person_id,
                "due_at": slot.due_at,
                "params": slot.params,
                "link": slot.link,
            }
        )


async def cancel(session: AsyncSession, *, subject_id: str, kinds: Sequence[str]) -> None:
    """Cancel a subject's planned reminders of these kinds (their reason went away)."""
    await ReminderRepository(session).cancel_other(subject_id, kinds, [])
