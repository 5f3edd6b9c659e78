"""The service's background loop (`ServiceSpec.workers`): the imports worker.

It takes the oldest queued import (or one whose worker's lease ran out: that worker died), reads
its file once, and imports it a chunk at a time, each chunk committed with the job's progress.
A stop finishes the current chunk and hands the job back; a failed chunk (the database went
away) is rolled back and the job taken again from its last commit, its file read anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inventory_service import importer
from inventory_service.config import InventorySettings
from inventory_service.import_repository import ClaimedJob
from inventory_service.importer import ParsedRow
from inventory_service.service import import_jobs
from shared_kit.app import Worker
from shared_kit.clock import Clock, system_clock
from shared_kit.problems import ProblemError
from shared_kit.settings import ServiceSettings

logger = logging.getLogger(__name__)

TRANSIENT = (SQLAlchemyError, OSError, TimeoutError)
MAX_BACKOFF_S = 10.0


class ImportWorker:
    """Runs queued imports until stopped; a database outage only pauses it."""

    name = "imports"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: InventorySettings,
        clock: Clock = system_clock,
    ) -> None:
        self.sessions, self.settings, self.clock = sessions, settings, clock
        self.lease = dt.timedelta(seconds=settings.import_lease_s)
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Take and run jobs until stopped."""
        delay = self.settings.import_poll_interval_s
        while not self._stopping.is_set():
            try:
                busy = await self.run_once()
                delay = self.settings.import_poll_interval_s
            except Exception as exc:
                if not isinstance(exc, TRANSIENT):
                    logger.exception("imports worker: unexpected error")
                logger.warning("imports worker: %s; retrying in %.1fs", type(exc).__name__, delay)
                busy, delay = False, min(delay * 2, MAX_BACKOFF_S)
            if not busy:
                await self._sleep(delay)

    async def stop(self) -> None:
        """Finish the chunk being imported, hand the job back, and return."""
        self._stopping.set()

    async def run_once(self) -> bool:
        """Take one job and run it to its end (or to a stop); False when none was waiting."""
        async with self.sessions() as session, session.begin():
            claimed = await import_jobs.claim(session=session, now=self.clock(), lease=self.lease)
        if claimed is None:
            return False
        job, content = claimed
        rows = await self._rows(job, content)
        if rows is not None:
            while await self.step(job, rows):
                if self._stopping.is_set():
                    async with self.sessions() as session, session.begin():
                        await import_jobs.release(session=session, job=job)
                    break
        return True

    async def step(self, job: ClaimedJob, rows: list[ParsedRow]) -> bool:
        """Import the job's next chunk; False when the job is over or no longer ours."""
        async with self.sessions() as session, session.begin():
            return await import_jobs.run_chunk(
                session=session,
                job=job,
                rows=rows,
                chunk_rows=self.settings.import_chunk_rows,
                now=self.clock(),
                lease=self.lease,
            )

    async def _rows(self, job: ClaimedJob, content: bytes) -> list[ParsedRow] | None:
        """The file's rows, read off the event loop (it was checked when it was queued)."""
        try:
            return await asyncio.to_thread(
                importer.read_rows, content, self.settings.import_max_rows
            )
        except ProblemError as problem:
            logger.warning("imports worker: import %s unreadable: %s", job.id, problem.type)
            async with self.sessions() as session, session.begin():
                await import_jobs.give_up(session=session, job=job, now=self.clock())
            return None

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


def build_workers(
    sessions: async_sessionmaker[AsyncSession],
    settings: ServiceSettings,
    clock: Clock = system_clock,
) -> list[Worker]:
    """The service's background loops: the imports worker."""
    assert isinstance(settings, InventorySettings)
    return [ImportWorker(sessions, settings, clock)]
