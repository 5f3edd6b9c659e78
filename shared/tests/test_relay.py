"""The outbox relay against the real broker: several replicas, order and exactly-once."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared_kit.db import create_engine, create_session_factory
from shared_kit.events import CloudEvent, add_events
from shared_kit.events.outbox import OutboxMessage
from shared_kit.events.relay import RELAY_LOCK_ID, OutboxRelay
from shared_kit.settings import ServiceSettings
from shared_kit.testing.kafka import events_of, eventually, read_topic


async def test_two_replicas_publish_everything_once_in_key_order(
    kit_database: str, kafka_bootstrap: str, unique: str
) -> None:
    topic = f"kit.relay.{unique}"
    settings = ServiceSettings(
        database_url=kit_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        outbox_batch_size=50,
        outbox_poll_interval_s=0.02,
        kafka_topic_partitions=3,
    )
    engine = create_engine(kit_database)
    sessions = create_session_factory(engine, outbox_topic=topic)
    keys = [f"agg-{i}" for i in range(10)]
    async with sessions() as session, session.begin():
        await add_events(
            session,
            [
                CloudEvent(type="t.v1", source="/kit", subject=key, data={"n": n})
                for n in range(60)
                for key in keys
            ],
        )
    relays = [OutboxRelay(sessions, settings, [topic]) for _ in range(2)]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        await eventually(lambda: _none_left(sessions), timeout_s=30)
    finally:
        for relay in relays:
            await relay.stop()
        await asyncio.gather(*tasks)
        await engine.dispose()
    events = events_of(await read_topic(kafka_bootstrap, topic, at_least=600))
    assert len(events) == 600 and len({e.id for e in events}) == 600
    per_key: dict[str, list[int]] = defaultdict(list)
    for event in events:
        per_key[event.subject].append(event.data["n"])
    assert all(ns == list(range(60)) for ns in per_key.values())
    assert uuid.UUID(events[0].id)


class CountingRelay(OutboxRelay):
    """The relay, counting the batches it has finished."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches = 0

    async def publish_batch(self) -> int:
        sent = await super().publish_batch()
        # Nothing is awaited between a batch and the relay's next wait (for a commit or its
        # poll interval), so a test that sees this count grow knows the relay waits again.
        self.batches += 1
        return sent


@dataclass
class Slow:
    """A relay's wiring with a poll interval of 60 s: only a wake-up publishes soon."""

    topic: str
    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def slow(kit_database: str, kafka_bootstrap: str, unique: str) -> AsyncIterator[Slow]:
    topic = f"kit.relay.{unique}"
    settings = ServiceSettings(
        database_url=kit_database, kafka_bootstrap_servers=kafka_bootstrap,
        outbox_poll_interval_s=60,
    )  # fmt: skip
    engine = create_engine(kit_database)
    yield Slow(topic, settings, engine, create_session_factory(engine, outbox_topic=topic))
    await engine.dispose()


async def test_a_woken_relay_retries_soon_when_another_replica_held_the_lock(
    slow: Slow, kafka_bootstrap: str
) -> None:
    # The other replica (here: a plain connection holding the relay's lock) may have looked
    # before this process committed; the event must not wait for the 60 s poll.
    topic, settings, engine, sessions = slow.topic, slow.settings, slow.engine, slow.sessions
    relay = CountingRelay(sessions, settings, [topic])
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _true(relay.batches >= 1), timeout_s=20)  # idle: it waits
        async with engine.connect() as other:
            await other.execute(text(f"SELECT pg_advisory_lock({RELAY_LOCK_ID})"))
            await other.commit()
            idle_after = relay.batches
            async with sessions() as session, session.begin():
                event = CloudEvent(type="t.v1", source="/kit", subject="k", data={"n": 1})
                await add_events(session, [event])
            # Woken by the commit, the relay tried and found the lock taken.
            await eventually(lambda: _true(relay.batches > idle_after), timeout_s=10)
            assert await _unpublished(sessions) == 1
            await other.execute(text(f"SELECT pg_advisory_unlock({RELAY_LOCK_ID})"))
            await other.commit()
        events = await read_topic(kafka_bootstrap, topic, at_least=1, timeout_s=10)
        assert [e.data for e in events_of(events)] == [{"n": 1}]
    finally:
        await relay.stop()
        await task


class CommittingRelay(OutboxRelay):
    """The relay, with one more event committed in its process while its first batch is
    out: after the batch's SELECT, so the batch does not carry it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.more = [CloudEvent(type="t.v1", source="/kit", subject="k", data={"n": 2})]

    async def _send_all(self, producer: Any, rows: Any) -> None:
        await super()._send_all(producer, rows)
        if self.more:
            async with self._sessions() as session, session.begin():
                await add_events(session, [self.more.pop()])


async def test_a_commit_while_a_batch_is_out_is_published_without_waiting_for_the_poll(
    slow: Slow, kafka_bootstrap: str
) -> None:
    # Its wake-up came while the relay was busy; the relay must not forget it and sleep the
    # 60 s poll interval.
    topic, settings, sessions = slow.topic, slow.settings, slow.sessions
    await _committed(sessions, 1)
    relay = CommittingRelay(sessions, settings, [topic])
    task = asyncio.create_task(relay.run())
    try:
        events = await read_topic(kafka_bootstrap, topic, at_least=2, timeout_s=15)
        assert [e.data for e in events_of(events)] == [{"n": 1}, {"n": 2}]
    finally:
        await relay.stop()
        await task


class RefusedOnceRelay(OutboxRelay):
    """The relay, with the broker refusing its first batch."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refusals = 1

    async def _send_all(self, producer: Any, rows: Any) -> None:
        if self.refusals:
            self.refusals -= 1
            raise KafkaConnectionError("the broker went away mid-batch")
        await super()._send_all(producer, rows)


async def test_a_batch_the_broker_refused_waits_and_goes_out_later_in_order(
    slow: Slow, kafka_bootstrap: str
) -> None:
    # The batch is taken and marked in the transaction that sends it: a failed send must leave
    # every row of it waiting, not marked as published.
    topic, settings, sessions = slow.topic, slow.settings, slow.sessions
    await _committed(sessions, 1, 2)
    relay = RefusedOnceRelay(sessions, settings, [topic])
    try:
        with pytest.raises(KafkaConnectionError):
            await relay.publish_batch()
        assert await _unpublished(sessions) == 2
        assert await relay.publish_batch() == 2
        assert await _unpublished(sessions) == 0
        assert await relay.publish_batch() == 0
    finally:
        await relay.stop()
        await relay._drain()
    events = await read_topic(kafka_bootstrap, topic, at_least=2, timeout_s=15)
    assert [e.data for e in events_of(events)] == [{"n": 1}, {"n": 2}]


async def _committed(sessions: async_sessionmaker[AsyncSession], *numbers: int) -> None:
    """Events of one key, numbered, committed in one transaction."""
    async with sessions() as session, session.begin():
        await add_events(
            session,
            [CloudEvent(type="t.v1", source="/kit", subject="k", data={"n": n}) for n in numbers],
        )


async def _true(value: bool) -> bool:
    return value


async def _unpublished(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(OutboxMessage.published_at.is_(None))
        )
    return int(count or 0)


async def _none_left(sessions: async_sessionmaker[AsyncSession]) -> bool:
    return await _unpublished(sessions) == 0


async def test_a_batch_past_the_parameter_limit_is_marked_published(
    kit_database: str, kafka_bootstrap: str, unique: str
) -> None:
    # The batch size is an operator's setting. Marking a batch of more rows than a statement
    # may have parameters (32,767) failed after the sending, so the relay sent it again.
    topic = f"kit.relay.{unique}"
    settings = ServiceSettings(
        database_url=kit_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        outbox_batch_size=40_000,
        outbox_poll_interval_s=0.02,
    )
    engine = create_engine(kit_database)
    sessions = create_session_factory(engine, outbox_topic=topic)
    async with sessions() as session, session.begin():
        events = [
            CloudEvent(type="t.v1", source="/kit", subject=f"k{i % 10}", data={})
            for i in range(33_000)
        ]
        await add_events(session, events)
    relay = OutboxRelay(sessions, settings, [topic])
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _none_left(sessions), timeout_s=60)
    finally:
        await relay.stop()
        await task
        await engine.dispose()
