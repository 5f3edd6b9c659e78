"""The service's background loops (`ServiceSpec.workers`): the scheduler and the dispatcher.

The dispatcher keeps `dispatch_concurrency` slots busy: a feeder claims the next batch as soon
as fewer jobs wait than there are slots (not when the slowest message of the last batch is
done), and sleeps only when nothing is due, until the poll interval passes or a transaction
in this process adds deliveries. A stop hands the claimed but unsent jobs back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications_service import wakeup
from notifications_service.channels import Sender, build_senders
from notifications_service.config import NotificationsSettings
from notifications_service.dispatcher import Dispatch
from notifications_service.kinds import Channel
from notifications_service.repository.deliveries import Job
from notifications_service.service.schedule import Scheduler
from shared_kit.app import Worker
from shared_kit.clock import Clock, system_clock
from shared_kit.settings import ServiceSettings

logger = logging.getLogger(__name__)

TRANSIENT = (SQLAlchemyError, OSError, TimeoutError)
MAX_BACKOFF_S = 5.0


class Dispatcher:
    """Sends what falls due, until stopped; a database outage only pauses it."""

    name = "dispatcher"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: NotificationsSettings,
        clock: Clock = system_clock,
        senders: Mapping[Channel, Sender] | None = None,
    ) -> None:
        self.settings = settings
        self._senders = senders or build_senders(settings)
        self._stopping = asyncio.Event()
        self.dispatch = Dispatch(sessions, settings, self._senders, clock, self._stopping)
        self._jobs: asyncio.Queue[Job | None] = asyncio.Queue()
        self._hungry = asyncio.Event()  # fewer jobs wait than there are slots
        self._woken = wakeup.subscribe()

    async def run(self) -> None:
        """Feed the slots until stopped, then let them hand back what is left."""
        slots = self.settings.dispatch_concurrency
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(slots):
                    group.create_task(self._slot())
                try:
                    await self._feed()
                finally:
                    for _ in range(slots):
                        self._jobs.put_nowait(None)  # after the jobs: those are handed back
        finally:
            wakeup.unsubscribe(self._woken)
            for sender in self._senders.values():
                await sender.close()

    async def stop(self) -> None:
        """Finish the messages being sent, hand the claimed rest back, and return."""
        self._stopping.set()
        self._hungry.set()

    async def _feed(self) -> None:
        delay = self.settings.dispatch_poll_interval_s
        while not self._stopping.is_set():
            if self._jobs.qsize() >= self.settings.dispatch_concurrency:
                self._hungry.clear()
                await self._hungry.wait()
                continue
            self._woken.clear()
            try:
                jobs = await self.dispatch.claim()
            except Exception as exc:
                if not isinstance(exc, TRANSIENT):
                    logger.exception("dispatcher: unexpected error while claiming")
                logger.warning("dispatcher: %s; retrying in %.1fs", type(exc).__name__, delay)
                await self._sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            delay = self.settings.dispatch_poll_interval_s
            for job in jobs:
                self._jobs.put_nowait(job)
            if len(jobs) < self.settings.dispatch_batch_size:
                await self._sleep(delay, self._woken)

    async def _slot(self) -> None:
        """Send jobs until the end marker, on a connection held while jobs keep coming."""
        delay = self.settings.dispatch_poll_interval_s
        while (job := await self._next()) is not None:
            try:
                async with self.dispatch.writer() as db:
                    while job is not None:
                        await self.dispatch.deliver(job, db)
                        job = self._ready()
                delay = self.settings.dispatch_poll_interval_s
            except Exception as exc:
                # The job's outcome was not written: it stays `sending` and is taken again
                # when its lease runs out.
                if not isinstance(exc, TRANSIENT):
                    logger.exception("dispatcher slot: unexpected error")
                logger.warning("dispatcher slot: %s; retrying in %.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)

    async def _next(self) -> Job | None:
        """The next job, waiting for one; None is the end."""
        job = await self._jobs.get()
        self._note_hunger()
        return job

    def _ready(self) -> Job | None:
        """The next job if one waits now (the end marker stays for `_next`)."""
        try:
            job = self._jobs.get_nowait()
        except asyncio.QueueEmpty:
            return None
        if job is None:
            self._jobs.put_nowait(None)
        self._note_hunger()
        return job

    def _note_hunger(self) -> None:
        if self._jobs.qsize() < self.settings.dispatch_concurrency:
            self._hungry.set()

    async def _sleep(self, seconds: float, woken: asyncio.Event | None = None) -> None:
        events = [self._stopping] + ([woken] if woken else [])
        waits = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await wait


def build_workers(
    sessions: async_sessionmaker[AsyncSession],
    settings: ServiceSettings,
    clock: Clock = system_clock,
) -> list[Worker]:
    """The service's background loops: the scheduler and the dispatcher."""
    assert isinstance(settings, NotificationsSettings)
    return [Scheduler(sessions, settings, clock), Dispatcher(sessions, settings, clock)]
