"""Housekeeping: bounded growth of the kit's tables (outbox, inbox, idempotency records)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.events.consumer import InboxMessage
from shared_kit.events.outbox import OutboxMessage
from shared_kit.idempotency import IdempotencyRecord
from shared_kit.settings import ServiceSettings

logger = logging.getLogger(__name__)

# A service's own purge: deletes what it no longer needs, returns counts by name.
Purge = Callable[[AsyncSession, datetime], Awaitable[dict[str, int]]]


async def purge_once(
    sessions: async_sessionmaker[AsyncSession],
    settings: ServiceSettings,
    now: datetime,
    extra: Sequence[Purge] = (),
    *,
    kit_tables: bool = True,
) -> dict[str, int]:
    """Delete kit rows past retention (published outbox, inbox, idempotency), then run the
    service's own purges, all in one transaction (`kit_tables=False`: only the latter)."""
    cutoffs = {
        "outbox": (OutboxMessage.published_at, settings.outbox_retention_hours),
        "inbox": (InboxMessage.received_at, settings.inbox_retention_hours),
        "idempotency": (IdempotencyRecord.created_at, settings.idempotency_retention_hours),
    }
    deleted: dict[str, int] = {}
    async with sessions() as session, session.begin():
        for name, (column, hours) in cutoffs.items() if kit_tables else ():
            result = await session.execute(
                delete(column.class_).where(column < now - timedelta(hours=hours))
            )
            deleted[name] = int(result.rowcount or 0)  # type: ignore[attr-defined]
        for purge in extra:
            deleted.update(await purge(session, now))
    return deleted


class Housekeeper:
    """Runs `purge_once` every `housekeeping_interval_s` (default hourly) until stopped."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: ServiceSettings,
        extra: Sequence[Purge] = (),
        *,
        kit_tables: bool = True,
    ) -> None:
        self._sessions, self._settings, self._extra = sessions, settings, extra
        self._kit_tables = kit_tables
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Purge, then sleep; a database outage only postpones the next purge."""
        while not self._stopping.is_set():
            try:
                now = datetime.now(UTC)
                deleted = await purge_once(
                    self._sessions, self._settings, now, self._extra, kit_tables=self._kit_tables
                )
                logger.info("housekeeping", extra={"deleted": deleted})
            except (DBAPIError, OSError) as exc:
                logger.warning("housekeeping postponed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), self._settings.housekeeping_interval_s
                )

    async def stop(self) -> None:
        """Stop after the current purge."""
        self._stopping.set()
