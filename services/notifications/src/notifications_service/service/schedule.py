"""The scheduler: due reminders become notices, and the schools' digest goes out each morning.

`scan(sessions, settings, now=)` is one pass, in transactions of `BATCH` reminders each; the
worker runs it every `schedule_poll_interval_s` on the service's clock, and tests call it with
a moved clock. Due reminders are claimed `FOR UPDATE SKIP LOCKED`, so two replicas never take
the same one, and each becomes its notice under the reminder's own cause, so a scan repeated
after a crash makes nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications_service.config import NotificationsSettings
from notifications_service.models import Reminder, ReminderState
from notifications_service.repository.reminders import ReminderRepository
from notifications_service.service import roster
from notifications_service.service.notices import Tell, tell_each
from notifications_service.service.support import technicians
from shared_kit.clock import Clock, system_clock
from shared_kit.db import session_scope

logger = logging.getLogger(__name__)

BATCH = 200


async def fire(session: AsyncSession, reminder: Reminder, *, now: dt.datetime) -> int:
    """Make a due reminder's notices (one per person it is for); how many were new."""
    message = Tell(reminder.kind, "", reminder.cause, dict(reminder.params), reminder.link)
    people = await technicians(session, reminder.person_id)
    made = await tell_each(session, people, message, now=now)
    reminder.state = ReminderState.DONE
    return made


async def fire_due(session: AsyncSession, *, now: dt.datetime, limit: int = BATCH) -> int:
    """Fire up to `limit` due reminders in the caller's transaction; how many were taken."""
    due = await ReminderRepository(session).claim_due(now, limit)
    for reminder in due:
        await fire(session, reminder, now=now)
    await session.flush()
    return len(due)


async def scan(
    sessions: async_sessionmaker[AsyncSession],
    settings: NotificationsSettings,
    *,
    now: dt.datetime,
) -> dict[str, int]:
    """One pass: every due reminder (batch by batch), then today's digest if it is time."""
    fired = 0
    while True:
        async for session in session_scope(sessions):
            taken = await fire_due(session, now=now)
        fired += taken
        if taken < BATCH:
            break
    async for session in session_scope(sessions):
        digests = await roster.approvals_digest(session, now=now, timezone=settings.timezone)
    return {"reminders_fired": fired, "digest_notices": digests}


class Scheduler:
    """Background loop running `scan` on the service's clock."""

    name = "scheduler"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: NotificationsSettings,
        clock: Clock = system_clock,
    ) -> None:
        self._sessions, self._settings, self._clock = sessions, settings, clock
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Scan, wait, repeat until stopped; a failed pass is logged and tried again."""
        while not self._stopping.is_set():
            try:
                await scan(self._sessions, self._settings, now=self._clock())
            except Exception as exc:  # the next pass retries; nothing was half-made
                logger.warning("scheduler pass failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                interval = self._settings.schedule_poll_interval_s
                await asyncio.wait_for(self._stopping.wait(), interval)

    async def stop(self) -> None:
        """Finish the current pass and return."""
        self._stopping.set()
