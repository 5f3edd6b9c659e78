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
from shared_kit.testing.kafka import eventually, group_lag, publish

TYPE = "kit.partitions.v1"
TOPIC = "kit.partitions"


class Commits:
    """Stands in for the Kafka consumer: keeps the offsets committed, in order; owns the
    partitions in `owned` (every one by default)."""

    def __init__(self, owned: set[TopicPartition] | None = None) -> None:
        self.offsets: list[dict[TopicPartition, int]] = []
        self.owned = owned if owned is not None else {TopicPartition(TOPIC, p) for p in range(9)}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.offsets.append(offsets)

    def assignment(self) -> set[TopicPartition]:
        return self.owned


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
        settings=ServiceSettings(consumer_max_attempts=1, consumer_skipped_commit_s=3600),
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


def skipped(n: int) -> CloudEvent:
    """An event of a type the runner has no handler for."""
    return CloudEvent(type="kit.someone-elses.v1", source="/kit", subject="other", data={"n": n})


class TestSkippedRecords:
    """A partition whose records were all skipped commits its place later, not at once."""

    async def test_their_place_is_committed_later(
        self, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        commits = Commits()
        runner = runner_with(sessions, None, commits)
        tp = TopicPartition(TOPIC, 0)
        await runner._handle_partitions({tp: records(0, [skipped(n) for n in range(3)])})
        await runner._commit_skipped()  # an hour has not passed
        assert commits.offsets == []
        await runner._commit_skipped(now=True)
        assert commits.offsets == [{tp: 3}]
        await runner._commit_skipped(now=True)
        assert commits.offsets == [{tp: 3}]  # once

    async def test_an_applied_record_commits_at_once_past_those_skipped_before_it(
        self, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        applied: list[int] = []

        async def handler(session: AsyncSession, evt: CloudEvent) -> None:
            applied.append(evt.data["n"])

        commits = Commits()
        runner = runner_with(sessions, handler, commits)
        tp, other = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
        await runner._handle_partitions({other: records(1, [skipped(0)])})
        await runner._handle_partitions({tp: records(0, [skipped(0)])})
        await runner._handle_partitions({tp: records(0, [skipped(0), skipped(1), event("k", 2)])})
        assert applied == [2]
        assert commits.offsets == [{tp: 3}]
        await runner._commit_skipped(now=True)
        assert commits.offsets == [{tp: 3}, {other: 1}]  # partition 0's skip went with its commit

    async def test_a_partition_that_moved_to_another_consumer_is_left_to_it(
        self, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        kept, moved = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
        commits = Commits(owned={kept})
        runner = runner_with(sessions, None, commits)
        await runner._handle_partitions(
            {kept: records(0, [skipped(0)]), moved: records(1, [skipped(0), skipped(1)])}
        )
        await runner._commit_skipped(now=True)
        assert commits.offsets == [{kept: 1}]

    async def test_a_stopping_consumer_commits_them_on_a_real_broker(
        self, sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, unique: str
    ) -> None:
        topic, group = f"kit.skipped.{unique}", f"kit-skipped-{unique}"
        settings = ServiceSettings(
            kafka_bootstrap_servers=kafka_bootstrap,
            consumer_session_timeout_ms=3000,
            consumer_skipped_commit_s=3600,
        )
        await publish(kafka_bootstrap, topic, *[skipped(n) for n in range(4)])
        runner = ConsumerRunner(
            name=group, topics=[topic], handlers={}, session_factory=sessions, settings=settings
        )
        task = asyncio.create_task(runner.run())

        async def all_read() -> bool:
            return sum(runner._skipped.values()) == 4

        await eventually(all_read)
        assert await group_lag(kafka_bootstrap, group, topic) == 4  # read, not committed yet
        await runner.stop()
        await asyncio.wait_for(task, 15)
        assert await group_lag(kafka_bootstrap, group, topic) == 0

    async def test_a_runner_cancelled_while_committing_them_still_closes_its_consumer(
        self, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        class Stuck(Commits):
            """A consumer whose broker never answers a commit."""

            stopped = False

            async def getmany(self, **_: object) -> dict[TopicPartition, list[object]]:
                await asyncio.sleep(0.05)
                return {}

            async def commit(self, offsets: dict[TopicPartition, int]) -> None:
                await asyncio.Event().wait()

            async def stop(self) -> None:
                self.stopped = True

        consumer = Stuck()
        runner = runner_with(sessions, None, consumer)
        await runner._handle_partitions({TopicPartition(TOPIC, 0): records(0, [skipped(0)])})
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(0.2)
        await runner.stop()  # idle: cancelled; its last act is to commit the skipped place
        await asyncio.sleep(0.2)
        task.cancel()  # a second cancellation, while that commit waits
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        assert consumer.stopped
