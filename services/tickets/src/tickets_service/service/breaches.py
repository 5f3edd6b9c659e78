"""The SLA job: flag clocks past their target, once each, and publish the breaches.

It runs with the kit's housekeeping (every `housekeeping_interval_s`, default a minute, and
at start-up) at the injectable clock's now. Each run flags up to `sla_batch_size` clocks of
each kind in one transaction; tickets another transaction holds are skipped and flagged by
the next run. A clock that stops late between two runs is flagged by the change that stops
it (`sla.respond`, `sla.stop`), so no breach goes unflagged and none is flagged twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from tickets_service.repository import TicketRepository
from tickets_service.service.sla import ClockName
from tickets_service.service.workflow import publish_breach


async def flag_breaches(
    session: AsyncSession, *, now: dt.datetime, limit: int = 500
) -> dict[str, int]:
    """Flag due clocks and publish one event per breach; counts for the log."""
    repo = TicketRepository(session)
    counts: dict[str, int] = {}
    for clock in ClockName:
        flagged = await repo.flag_due(clock.value, now, limit)
        if flagged:
            # Read back after the bulk UPDATE so the events carry the flags.
            for ticket in await repo.many(ticket_id for ticket_id, _ in flagged):
                publish_breach(session, ticket, clock, now)
        counts[f"sla_{clock.value}_breached"] = len(flagged)
    return counts
