"""The consumer runner's opt-in batch mode: one transaction per poll, the inbox drops what was
applied before, a poison event falls back to one-by-one and is dead-lettered alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka.structs import ConsumerRecord
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.db import create_engine, create_session_factory
from shared_kit.events import CloudEvent
from shared_kit.events.consumer import ConsumerRunner, DeadLetter, Delivery, InboxMessage
from shared_kit.settings import ServiceSettings
from shared_kit.testing.kafka import eventually, group_lag, publish

TYPE = "kit.batch.v1"


class Recorder:
    """A batch handler that keeps what it applied; an event with `poison` makes it fail."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.calls: list[int] = []

    async def __call__(self, session: AsyncSession, deliveries: list[Delivery]) -> None:
        self.calls.append(len(deliveries))
        if any(d.event.data.get("poison") for d in deliveries):
            raise ValueError("poison")
        self.applied += [d.event.id for d in deliveries]


@pytest.fixture
async def sessions(kit_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a database with the kit's tables."""
    engine = create_engine(kit_database)
    yield create_session_factory(engine)
    await engine.dispose()


def runner_for(
    sessions: async_sessionmaker[AsyncSession],
    recorder: Recorder,
    settings: ServiceSettings | None = None,
    topic: str = "kit.batch",
) -> ConsumerRunner:
    async def single(session: AsyncSession, evt: CloudEvent) -> None:
        raise AssertionError("the batch handler applies everything")

    return ConsumerRunner(
        name="kit-batch",
        topics=[topic],
        handlers={TYPE: single},
        session_factory=sessions,
        settings=settings or ServiceSettings(consumer_max_attempts=1),
        batch_handler=recorder,
    )


def record(offset: int, evt: CloudEvent | None) -> ConsumerRecord[bytes, bytes]:
    """A Kafka record carrying the event (or garbage)."""
    headers = evt.kafka_headers() if evt else [("ce_id", b"x")]
    value = evt.kafka_value() if evt else b"{"
    return ConsumerRecord("kit.batch", 0, offset, 0, 0, b"k", value, None, 0, 0, headers)


def event(**data: object) -> CloudEvent:
    return CloudEvent(type=TYPE, source="/kit", subject="a", data=dict(data))


async def test_a_batch_is_applied_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    recorder = Recorder()
    runner = runner_for(sessions, recorder)
    events = [event(n=n) for n in range(5)]
    other = CloudEvent(type="kit.other.v1", source="/kit", subject="a", data={})
    records = [record(i, e) for i, e in enumerate([*events, events[0], other])]
    assert await runner.handle_batch(records) == {"ignored": 1, "applied": 5, "duplicate": 1}
    assert recorder.calls == [5] and recorder.applied == [e.id for e in events]
    again = await runner.handle_batch([record(9, events[2])])
    assert again == {"applied": 0, "duplicate": 1} and recorder.calls == [5]


async def test_a_poison_event_is_dead_lettered_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = Recorder()
    runner = runner_for(sessions, recorder)
    good = [event(n=n) for n in range(3)]
    bad = event(poison=True)
    records = [record(0, good[0]), record(1, bad), record(2, None), *map(record, (3, 4), good[1:])]
    outcome = await runner.handle_batch(records)
    assert outcome == {"dead_letter": 2, "applied": 3}
    assert recorder.applied == [e.id for e in good]
    async with sessions() as session:
        letters = (await session.scalars(select(DeadLetter.offset))).all()
        inbox = await session.scalar(select(func.count()).select_from(InboxMessage))
    assert sorted(letters) == [1, 2]
    assert inbox == 3  # the poison event's inbox row rolled back with it


async def test_run_commits_after_each_batch(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, unique: str
) -> None:
    topic = f"kit.batch.{unique}"
    settings = ServiceSettings(
        kafka_bootstrap_servers=kafka_bootstrap, consumer_session_timeout_ms=3000
    )
    events = [event(n=n) for n in range(20)]
    await publish(kafka_bootstrap, topic, *events)
    assert await group_lag(kafka_bootstrap, "kit-batch", topic) == 20
    recorder = Recorder()
    runner = runner_for(sessions, recorder, settings, topic)
    task = asyncio.create_task(runner.run())

    async def all_applied() -> bool:
        return len(recorder.applied) == 20

    await eventually(all_applied)
    await runner.stop()
    await asyncio.wait_for(task, 15)
    assert sorted(recorder.applied) == sorted(e.id for e in events)
    # The group's offsets were committed after the batches: all 20 records are behind them.
    assert await group_lag(kafka_bootstrap, "kit-batch", topic) == 0
