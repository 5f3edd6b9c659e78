"""The live consumer through the real broker: batches, duplicates, a poison event, positions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiokafka.structs import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared_kit.events import CloudEvent
from shared_kit.testing.kafka import eventually
from statistics_service.config import StatisticsSettings
from statistics_service.consumers import build_consumers
from statistics_service.synthetic import publish_history

from .conftest import random_history, recompute, sql, stored_counters

Sessions = async_sessionmaker[AsyncSession]


async def publish_all(settings: StatisticsSettings, events: list[CloudEvent]) -> None:
    """Publish events to their producers' topics, keyed by aggregate, in this order."""
    assert await publish_history(settings, events) == len(events)


@contextlib.asynccontextmanager
async def live_consumer(sessions: Sessions, settings: StatisticsSettings) -> AsyncIterator[None]:
    """The service's consumer, running in the background."""
    [runner] = build_consumers(sessions, settings)
    task = asyncio.create_task(runner.run())
    try:
        yield
    finally:
        await runner.stop()
        await asyncio.wait_for(task, 15)


async def test_consumer_builds_the_read_model(
    sessions: Sessions, engine: AsyncEngine, settings: StatisticsSettings
) -> None:
    events = random_history(11)
    poison = CloudEvent(
        type="lv.datori.inventory.device.updated.v1",
        source="/datori/inventory",
        subject="not-a-device",
        data={"device": {"device_id": "not-a-uuid"}},
    )
    # Every event twice (a relay retried), a poison event in the middle.
    delivered = [*events[:20], poison, *events[20:], *events]
    await publish_all(settings, delivered)
    expected = recompute(events)
    async with live_consumer(sessions, settings):

        async def caught_up() -> bool:
            return await stored_counters(engine) == expected

        await eventually(caught_up, timeout_s=40)
    letters = await sql(engine, "SELECT event_id, error FROM dead_letter")
    assert [r.event_id for r in letters] == [poison.id]
    positions = await sql(engine, 'SELECT topic, partition, "offset" FROM projection_position')
    assert {r.topic for r in positions} == {
        settings.inventory_topic,
        settings.reservations_topic,
        settings.contracts_topic,
        settings.tickets_topic,
    }


async def test_records_at_or_below_the_position_are_skipped(
    sessions: Sessions, engine: AsyncEngine, settings: StatisticsSettings
) -> None:
    [runner] = build_consumers(sessions, settings)
    events = random_history(12)[:30]

    def record(offset: int, evt: CloudEvent) -> ConsumerRecord[bytes, bytes]:
        # One partition of one topic: the consumer goes by type, the position by offset.
        return ConsumerRecord(
            settings.inventory_topic, 0, offset, 0, 0, evt.subject.encode(), evt.kafka_value(),
            None, 0, 0, evt.kafka_headers(),
        )  # fmt: skip

    first = [record(i, e) for i, e in enumerate(events[:10])]
    await runner.handle_batch(first)
    before = await stored_counters(engine)
    # The same offsets again, as new events (a rebuild already reflects them): skipped.
    again = [record(i, e) for i, e in enumerate(events[10:20])]
    outcome = await runner.handle_batch(again)
    assert outcome == {"applied": 10, "duplicate": 0}  # new to the inbox, not to the tables
    assert await stored_counters(engine) == before
    later = [record(10 + i, e) for i, e in enumerate(events[20:])]
    await runner.handle_batch(later)
    assert await stored_counters(engine) == recompute(events[:10] + events[20:])
