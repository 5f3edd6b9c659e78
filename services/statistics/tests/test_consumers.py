"""The live consumer through the real broker: batches, duplicates, a poison event, offsets that
start again from 0 (a re-created topic, a restarted broker)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import partial

from aiokafka.structs import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared_kit.events import CloudEvent
from shared_kit.events.kafka import ensure_topics
from shared_kit.testing.infra import Tansu
from shared_kit.testing.kafka import eventually, publish
from statistics_service.config import StatisticsSettings
from statistics_service.consumers import build_consumers

from .conftest import Counters, random_history, recompute, sql, stored_counters

Sessions = async_sessionmaker[AsyncSession]


async def publish_all(settings: StatisticsSettings, events: list[CloudEvent]) -> None:
    """Publish events to their producers' topics, keyed by aggregate, in this order."""
    await ensure_topics(settings, settings.consumed_topics)
    by_topic: dict[str, list[CloudEvent]] = {}
    for evt in events:
        producer = evt.type.split(".")[2]  # lv.datori.<producer>.…
        by_topic.setdefault(getattr(settings, f"{producer}_topic"), []).append(evt)
    for topic, produced in by_topic.items():
        await publish(settings.kafka_bootstrap_servers, topic, *produced)


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


async def test_new_events_at_offsets_seen_before_are_applied(
    sessions: Sessions, engine: AsyncEngine, settings: StatisticsSettings
) -> None:
    [runner] = build_consumers(sessions, settings)
    events = random_history(12)[:30]

    def record(offset: int, evt: CloudEvent) -> ConsumerRecord[bytes, bytes]:
        # One partition of one topic: the consumer goes by type and event id.
        return ConsumerRecord(
            settings.inventory_topic, 0, offset, 0, 0, evt.subject.encode(), evt.kafka_value(),
            None, 0, 0, evt.kafka_headers(),
        )  # fmt: skip

    await runner.handle_batch([record(i, e) for i, e in enumerate(events[:15])])
    # The topic re-created: offsets from 0 again, new events and one sent again by a relay.
    again = [record(i, e) for i, e in enumerate([events[14], *events[15:]])]
    outcome = await runner.handle_batch(again)
    assert outcome == {"applied": 15, "duplicate": 1}
    assert await stored_counters(engine) == recompute(events)


async def test_events_after_a_broker_restart_are_counted_once(
    sessions: Sessions, engine: AsyncEngine, settings: StatisticsSettings, own_broker: Tansu
) -> None:
    # The embedded broker keeps topics in memory: after a restart (as after a topic's
    # re-creation) offsets start again from 0, under the same topic names.
    own = settings.model_copy(update={"kafka_bootstrap_servers": own_broker.bootstrap})
    events = random_history(14, scale=2)
    first, later = events[:80], events[80:]
    await publish_all(own, first)

    async def counted(expected: Counters) -> bool:
        return await stored_counters(engine) == expected

    restarted = Tansu(port=own_broker.port)
    try:
        async with live_consumer(sessions, own):
            await eventually(partial(counted, recompute(first)), timeout_s=40)
        # As after `make run` is stopped and started again: the broker comes back empty and
        # the service's consumer starts afresh (a consumer kept alive across an embedded
        # broker's restart can have a stale commit accepted by it: see the README).
        own_broker.stop()
        restarted.start()
        # A relay that did not hear its acks sends the tail of `first` again.
        await publish_all(own, first[-10:] + later)
        async with live_consumer(sessions, own):
            await eventually(partial(counted, recompute(events)), timeout_s=60)
    finally:
        restarted.stop()
    inbox = await sql(engine, "SELECT count(*) AS n FROM inbox_message")
    assert inbox[0].n == len(events)  # each event applied once
