"""The rebuild: replay every topic from the beginning into fresh tables, then swap.

Run as `statistics-rebuild` (`statistics_service.cli`). Steps:

1. Shadow copies of the projection tables are created empty (`<table>__shadow`, `LIKE … INCLUDING
   ALL`), next to the live ones, which keep serving.
2. A consumer of its own (no group, nothing committed) reads each consumed topic's partitions
   from the beginning to the end offsets seen at the start and folds the facts in memory to
   the latest per aggregate (`service.projection.latest`, the live consumer's rule); then the
   folded facts go through the live projection code (`service.projection.apply_facts`) into
   the shadow tables in large batches, each aggregate written once. Planning's allocation
   events are kept in order and applied after them (`service.allocations`, guarded by version).
3. In one transaction, holding the projection's writer lock (so the live consumer waits):
   the replay reads on to the topics' ends, which holds everything the live consumer applied
   before it had to wait; then each live table is dropped, its shadow renamed into its place
   and the shadow's indexes renamed to the live names.
4. The live consumer goes on from its group's committed offsets. What it reads again that the
   new tables already reflect changes nothing: the projection keeps each aggregate's latest
   fact by its order key, so an event already reflected is a no-op (the inbox, which is kept,
   only ever names events now reflected). Nothing is deduplicated by offset, so a topic that
   is re-created (offsets from 0 again) is read like any other.

Topics must keep their events (infinite retention, or compaction by key: every event carries
its whole aggregate, so the last one per key suffices) for a rebuild to see everything. The
rebuild refuses to replace the live tables when a consumed topic does not exist or a partition
no longer starts at offset 0 (retention deleted its beginning), unless told to
(`--allow-incomplete`): an incomplete replay would silently drop what was counted.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.db import create_engine, create_session_factory
from shared_kit.events import CloudEvent, InvalidEvent
from shared_kit.events.kafka import security
from statistics_service.config import StatisticsSettings
from statistics_service.consumers import HANDLED, to_allocation_change, to_fact
from statistics_service.facts import (
    AnyFact,
    ContractFact,
    DeviceFact,
    ReservationFact,
    TicketFact,
    Transition,
)
from statistics_service.repository.projection import ProjectionRepository, ProjectionTables
from statistics_service.service.allocations import Change, apply_changes
from statistics_service.service.projection import apply_facts, latest
from statistics_service.service.usage import transitions_of

logger = logging.getLogger(__name__)
IDLE_TIMEOUT_S = 30.0


class IncompleteHistory(RuntimeError):
    """The topics no longer hold every event the live tables reflect."""


@dataclass
class RebuildReport:
    """What a rebuild did."""

    events_read: int = 0
    facts: int = 0
    skipped: int = 0  # unreadable or of a type statistics does not count
    caught_up: int = 0  # events applied during the swap (the live consumer was ahead)
    seconds: float = 0.0
    positions: dict[str, int] = field(default_factory=dict)  # "topic/partition" → offset

    @property
    def events_per_second(self) -> float:
        """Replay throughput."""
        return self.events_read / self.seconds if self.seconds else 0.0


Apply = Callable[[list[AnyFact], list[Transition]], Coroutine[Any, Any, None]]
Folded = dict[type[Any], dict[uuid.UUID, Any]]
Versions = dict[uuid.UUID, list[Transition]]  # every version of each device read


async def rebuild(
    settings: StatisticsSettings,
    *,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    batch_size: int | None = None,
    allow_incomplete: bool = False,
) -> RebuildReport:
    """Replay the consumed topics into shadow tables and swap them in; see the module doc."""
    started = time.monotonic()
    size = batch_size or settings.rebuild_batch_size
    engine = None
    if sessions is None:
        engine = create_engine(settings.database_url, pool_size=2)
        sessions = create_session_factory(engine)
    report = RebuildReport()
    consumer = _consumer(settings)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, settings.consumed_topics)
        reached = {tp: -1 for tp in partitions}
        if partitions:
            consumer.assign(partitions)
        if not allow_incomplete:
            await _check_complete(consumer, partitions, settings.consumed_topics)
        async with sessions() as session, session.begin():
            await ProjectionRepository(session).create_shadow_tables()
        if partitions:
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            until = {tp: ends[tp] - 1 for tp in partitions}
            folded, versions, changes = await _read(
                consumer, until, reached, report, size, to_high_watermark=True
            )
            shadow = ProjectionTables.shadow()

            async def apply(facts: list[AnyFact], versions: list[Transition]) -> None:
                async with sessions() as s, s.begin():
                    await apply_facts(s, facts, shadow, lock=False, transitions=versions)

            await _apply_folded(folded, versions, apply, size)
            async with sessions() as s, s.begin():
                await apply_changes(s, changes, shadow, lock=False)
        async with sessions() as session, session.begin():
            await _swap(
                session, consumer, reached, report, batch_size or settings.rebuild_batch_size
            )
    finally:
        await consumer.stop()
        if engine is not None:
            await engine.dispose()
    report.positions = {f"{tp.topic}/{tp.partition}": o for tp, o in sorted(reached.items())}
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _consumer(settings: StatisticsSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        metadata_max_age_ms=5_000,
        **security(settings),
    )


async def _partitions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    """Every partition of the topics that exist."""
    existing = await consumer.topics()
    partitions = []
    for topic in topics:
        if topic in existing:
            ids = consumer.partitions_for_topic(topic) or set()
            partitions += [TopicPartition(topic, p) for p in sorted(ids)]
    return partitions


async def _check_complete(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], topics: list[str]
) -> None:
    missing = sorted(set(topics) - {tp.topic for tp in partitions})
    if missing:
        raise IncompleteHistory(f"topics not found: {', '.join(missing)}")
    starts = await consumer.beginning_offsets(partitions) if partitions else {}
    truncated = sorted(f"{tp.topic}/{tp.partition}@{o}" for tp, o in starts.items() if o > 0)
    if truncated:
        raise IncompleteHistory(f"partitions no longer start at offset 0: {', '.join(truncated)}")


async def _read(
    consumer: AIOKafkaConsumer,
    until: dict[TopicPartition, int],
    reached: dict[TopicPartition, int],
    report: RebuildReport,
    batch_size: int,
    *,
    to_high_watermark: bool = False,
) -> tuple[Folded, Versions, list[Change]]:
    """Read each partition up to `until` (inclusive); the latest fact of every aggregate, and
    every version of each device (its use is computed from all of them), and the allocation
    changes in the order read.

    With `to_high_watermark`, a partition's target is raised to the high watermark its first
    fetch response names: some brokers (Tansu) answer a list-offsets request with the start of
    the last record batch rather than the end of the log.
    """
    folded: Folded = latest([])
    versions: Versions = {}
    changes: list[Change] = []
    until = dict(until)
    widened: set[TopicPartition] = set()
    pending = {tp for tp, last in until.items() if last > reached[tp]}
    idle_since = time.monotonic()
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=500, max_records=batch_size)
        if not batches and time.monotonic() - idle_since > IDLE_TIMEOUT_S:
            raise TimeoutError(f"no records from {sorted(map(str, pending))} while replaying")
        facts: list[AnyFact] = []
        for tp, records in batches.items():
            idle_since = time.monotonic()
            if to_high_watermark and tp not in widened:
                widened.add(tp)
                until[tp] = max(until[tp], (consumer.highwater(tp) or 0) - 1)
            for record in records:
                if record.offset > until[tp]:
                    break
                report.events_read += 1
                fact = _fact(record.headers, record.value)
                if fact is None:
                    report.skipped += 1
                elif isinstance(fact, Change):
                    changes.append(fact)
                else:
                    facts.append(fact)
                reached[tp] = record.offset
            if reached[tp] >= until[tp]:
                pending.discard(tp)
        report.facts += len(facts)
        latest(facts, into=folded)
        for t in transitions_of(facts):
            versions.setdefault(t.device_id, []).append(t)
    return folded, versions, changes


async def _apply_folded(folded: Folded, versions: Versions, apply: Apply, batch_size: int) -> None:
    """Apply the folded facts, reservations before the contracts that count their criteria,
    each device with all of its versions."""
    for kind in (ReservationFact, ContractFact, DeviceFact, TicketFact):
        facts = list(folded[kind].values())
        for start in range(0, len(facts), batch_size):
            chunk = facts[start : start + batch_size]
            of_chunk = [
                t for f in chunk if isinstance(f, DeviceFact) for t in versions.get(f.device_id, [])
            ]
            await apply(chunk, of_chunk)


def _fact(
    headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...], value: bytes | None
) -> AnyFact | Change | None:
    """The fact (or allocation change) of a record; None for what the live consumer would
    ignore or dead-letter."""
    try:
        evt = CloudEvent.from_kafka(list(headers), value)
        if evt.type not in HANDLED:
            return None
        return to_fact(evt) or to_allocation_change(evt)
    except (InvalidEvent, ValidationError):
        return None


async def _swap(
    session: AsyncSession,
    consumer: AIOKafkaConsumer,
    reached: dict[TopicPartition, int],
    report: RebuildReport,
    batch_size: int,
) -> None:
    """Catch up to the topics' ends under the writer lock, then swap the tables in."""
    repo = ProjectionRepository(session)
    await repo.lock()  # the live consumer waits from here on
    ahead = await _ends_beyond(consumer, reached)
    if ahead:
        for tp in ahead:
            consumer.seek(tp, reached[tp] + 1)
        shadow = ProjectionTables.shadow()

        async def apply(facts: list[AnyFact], versions: list[Transition]) -> None:
            await apply_facts(session, facts, shadow, lock=False, transitions=versions)

        before = report.events_read
        folded, versions, changes = await _read(
            consumer, ahead, reached, report, batch_size, to_high_watermark=True
        )
        await _apply_folded(folded, versions, apply, batch_size)
        await apply_changes(session, changes, shadow, lock=False)
        report.caught_up = report.events_read - before
    await repo.swap_in_shadow_tables()
    await repo.bump_epoch()


async def _ends_beyond(
    consumer: AIOKafkaConsumer, reached: dict[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """The partitions written to since the replay read them, with their last offsets.

    Tansu answers with the start of the last record batch (+1), which is past `reached`
    whenever a batch was appended after it; `_read` then widens to the high watermark.
    """
    if not reached:
        return {}
    ends = await consumer.end_offsets(list(reached))
    return {tp: ends[tp] - 1 for tp in reached if ends[tp] - 1 > reached[tp]}
