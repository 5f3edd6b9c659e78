"""The consumer runner applies the partitions of one poll side by side: a slow event holds up
only its own partition, each partition's events apply in order, and each partition commits
its own offsets once its events are applied (an error elsewhere does not cut it off)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.db import create_engine, create_session_factory
from shared_kit.events import CloudEvent
from shared_kit.events.consumer import ConsumerRunner
from shared_kit.settings import ServiceSettings

TYPE = "kit.partitions.v1"
TOPIC = "kit.partitions"


class Commits:
    """Stands in for the Kafka consumer: keeps the offsets committed, in order."""

    def __init__(self) -> None:
        self.offsets: list[dict[TopicPartition, int]] = []

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.offsets.append(offsets)


@pytest.fixture
async def sessions(kit_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a database with the kit's tables."""
    engine = create_engine(kit_database)
    yield create_session_factory(engine)
    await engine.dispose()


def event(key: str, n: int) -> CloudEvent:
    return CloudEvent(type=TYPE, source="/kit", subject=key, data={"n": n})


def records(partition: int, events: list[CloudEvent]) -> list[ConsumerRecord[bytes, bytes]]:
    """Kafka records of one partition carrying the events, offsets from 0."""
    return [
        ConsumerRecord(
            TOPIC, partition, i, 0, 0, b"k", e.kafka_value(), None, 0, 0, e.kafka_headers()
        )
        for i, e in enumerate(events)
    ]


def runner_with(
    sessions: async_sessionmaker[AsyncSession], handler: object, commits: Commits
) -> ConsumerRunner:
    runner = ConsumerRunner(
        name="kit-partitions",
        topics=[TOPIC],
        handlers={TYPE: handler},  # type: ignore[dict-item]
        session_factory=sessions,
        settings=ServiceSettings(consumer_max_attempts=1),
    )
    runner._consumer = commits  # type: ignore[assignment]
    return runner


async def test_a_slow_partition_does_not_hold_up_the_others(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    released, applied = asyncio.Event(), list[tuple[str, int]]()

    async def handler(session: AsyncSession, evt: CloudEvent) -> None:
        if evt.subject == "slow" and evt.data["n"] == 0:
            await asyncio.wait_for(released.wait(), 10)  # only partition 1 can release it
        if evt.subject == "fast" and evt.data["n"] == 2:
            released.set()
        applied.append((evt.subject, evt.data["n"]))

    commits = Commits()
    runner = runner_with(sessions, handler, commits)
    slow, fast = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    batches = {
        slow: records(0, [event("slow", n) for n in range(3)]),
        fast: records(1, [event("fast", n) for n in range(3)]),
    }
    await asyncio.wait_for(runner._handle_partitions(batches), 20)
    assert [n for key, n in applied if key == "slow"] == [0, 1, 2]
    assert [n for key, n in applied if key == "fast"] == [0, 1, 2]
    assert applied.index(("fast", 2)) < applied.index(("slow", 0))
    assert commits.offsets == [{fast: 3}, {slow: 3}]


async def test_an_error_in_one_partition_lets_the_others_finish_and_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    applied: list[tuple[str, int]] = []

    async def handler(session: AsyncSession, evt: CloudEvent) -> None:
        applied.append((evt.subject, evt.data["n"]))

    class BrokerAway(Commits):
        async def commit(self, offsets: dict[TopicPartition, int]) -> None:
            if TopicPartition(TOPIC, 0) in offsets:
                raise OSError("broker away")
            await super().commit(offsets)

    commits = BrokerAway()
    runner = runner_with(sessions, handler, commits)
    batches = {
        TopicPartition(TOPIC, p): records(p, [event(f"k{p}", n) for n in range(2)])
        for p in range(3)
    }
    with pytest.raises(OSError, match="broker away"):
        await runner._handle_partitions(batches)
    assert len(applied) == 6
    # The partitions run side by side: their commits may come in either order.
    committed = sorted(commits.offsets, key=lambda offsets: next(iter(offsets)).partition)
    assert committed == [{TopicPartition(TOPIC, 1): 2}, {TopicPartition(TOPIC, 2): 2}]
