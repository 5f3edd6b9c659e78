"""Consumer runner: apply each event once (inbox), commit offsets after the database.

By default each record is applied in its own transaction through its type's handler; the
partitions of one poll are applied side by side (up to `partitions_at_once`), each in order,
and each commits its own offsets once its records are applied (a partition whose records
were all skipped, no handler here, commits its place later: `consumer_skipped_commit_s`). A
consumer that must ingest fast (a read model) may also pass a `batch_handler`: then all the
records of one poll are applied in one transaction (one bulk inbox insert, one handler call
with the events not seen before); if that batch fails for a reason other than the database
being away, its records are applied one by one through the per-type handlers, so a poison
event is dead-lettered alone and the others still apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import DateTime, Integer, String, Text, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from shared_kit.db import Base, UUIDKey
from shared_kit.events.envelope import CloudEvent, InvalidEvent
from shared_kit.events.kafka import ensure_topics, make_consumer
from shared_kit.observability import correlation_id
from shared_kit.prepared import Prepared
from shared_kit.problems import ProblemError
from shared_kit.settings import ServiceSettings

logger = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Delivery:
    """An event and where it was read: topic, partition and offset."""

    topic: str
    partition: int
    offset: int
    event: CloudEvent


BatchHandler = Callable[[AsyncSession, list[Delivery]], Awaitable[None]]

CONSUMED = Counter("events_consumed_total", "Events consumed", ["consumer", "outcome"])

# Errors that mean "our infrastructure is down", not "this event is bad": retry forever.
_TRANSIENT = (OperationalError, InterfaceError, OSError, asyncio.TimeoutError)
# Errors that no retry can fix: the event breaks a business rule or its payload is unreadable.
PERMANENT = (ProblemError, ValidationError, InvalidEvent)


class InboxMessage(Base):
    """Events a consumer has applied; the primary key makes a second apply impossible."""

    __tablename__ = "inbox_message"

    consumer: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DeadLetter(UUIDKey, Base):
    """An event that could not be applied after bounded retries, kept for people to see."""

    __tablename__ = "dead_letter"

    consumer: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(Integer)
    key: Mapped[str | None] = mapped_column(String(200))
    event_id: Mapped[str | None] = mapped_column(String(200))
    event_type: Mapped[str | None] = mapped_column(String(200))
    headers: Mapped[list[list[str]]] = mapped_column(JSONB)
    payload: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The inbox row of one event, compiled once: every event a consumer applies runs it.
_RECORD = Prepared(
    insert(InboxMessage)
    .values(
        consumer=bindparam("consumer", type_=String),
        event_id=bindparam("event_id", type_=String),
        event_type=bindparam("event_type", type_=String),
    )
    .on_conflict_do_nothing()
    .returning(InboxMessage.event_id)
)


async def apply_once(
    session: AsyncSession, consumer: str, evt: CloudEvent, handler: Handler
) -> bool:
    """Record the event in the inbox and apply it; False when it was applied before."""
    row = {"consumer": consumer, "event_id": evt.id, "event_type": evt.type}
    if await _RECORD.fetchrow(session, row) is None:
        return False
    await handler(session, evt)
    return True


async def apply_batch_once(
    session: AsyncSession, consumer: str, deliveries: Sequence[Delivery], handler: BatchHandler
) -> int:
    """Record a batch in the inbox and apply the events not seen before; returns how many."""
    if not deliveries:
        return 0
    # One statement whatever the batch size: arrays unnested server-side, no per-row binds.
    fresh = set(
        await session.scalars(
            text(
                f"INSERT INTO {InboxMessage.__tablename__} (consumer, event_id, event_type) "
                "SELECT CAST(:consumer AS varchar), i, t FROM unnest(CAST(:ids AS varchar[]), "
                "CAST(:types AS varchar[])) AS u(i, t) ON CONFLICT DO NOTHING RETURNING event_id"
            ),
            {
                "consumer": consumer,
                "ids": [d.event.id for d in deliveries],
                "types": [d.event.type for d in deliveries],
            },
        )
    )
    new: list[Delivery] = []
    for delivery in deliveries:  # an id twice in one batch is applied once, the first time
        if delivery.event.id in fresh:
            fresh.discard(delivery.event.id)
            new.append(delivery)
    if new:
        await handler(session, new)
    return len(new)


class ConsumerRunner:
    """Reads topics as one consumer group and applies events through their handlers."""

    def __init__(
        self,
        *,
        name: str,
        topics: list[str],
        handlers: dict[str, Handler],
        session_factory: async_sessionmaker[AsyncSession],
        settings: ServiceSettings,
        batch_handler: BatchHandler | None = None,
        max_records: int = 500,
        partitions_at_once: int = 4,
    ) -> None:
        self.name = name
        self._topics = topics
        self._handlers = handlers
        self._batch_handler = batch_handler
        self._max_records = max_records
        self._partitions_at_once = partitions_at_once
        self._sessions = session_factory
        self._settings = settings
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        # Where each partition stands past records it only skipped, not yet committed.
        self._skipped: dict[TopicPartition, int] = {}
        self._skipped_since = 0.0

    async def run(self) -> None:
        """Consume until stopped; reconnect with back-off when the broker goes away."""
        self._task = asyncio.current_task()
        backoff = 0.2
        try:
            while not self._stopping.is_set():
                try:
                    await self._consume()
                    backoff = 0.2
                except (KafkaError, OSError) as exc:
                    logger.warning("consumer %s: %s; retrying", self.name, type(exc).__name__)
                    await self._close()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), backoff)
                    backoff = min(backoff * 2, 5.0)
        except asyncio.CancelledError:
            if not self._stopping.is_set():
                raise
        finally:
            try:
                await self._commit_skipped_on_stop()
            finally:
                await self._close()

    async def stop(self) -> None:
        """Stop: at once when idle (waiting on the broker), else after the record in hand."""
        self._stopping.set()
        if not self._busy and self._task is not None:
            # Nothing is half-applied while idle: the last batch's offsets are committed (or,
            # when it was skipped, are as the runner ends).
            self._task.cancel()

    async def _commit_skipped_on_stop(self) -> None:
        """A stopping runner commits its places past skipped records (a broker that does not
        answer within 2 s keeps the places it has)."""
        if self._stopping.is_set() and self._consumer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._commit_skipped(now=True), 2)

    async def _consume(self) -> None:
        if self._consumer is None:
            await ensure_topics(self._settings, self._topics)
            # Kept before start() so a stop during the group join still closes it.
            self._consumer = make_consumer(self._settings, self.name, *self._topics)
            await self._consumer.start()
        while not self._stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=200, max_records=self._max_records)
            self._busy = True
            try:
                if self._batch_handler is not None and batches:
                    outcomes = await self.handle_batch(
                        [r for records in batches.values() for r in records]
                    )
                    places = {tp: records[-1].offset + 1 for tp, records in batches.items()}
                    await self._commit(places, skipped=set(outcomes) == {"ignored"})
                else:
                    await self._handle_partitions(batches)
                await self._commit_skipped()
            finally:
                self._busy = False

    async def _commit(self, places: dict[TopicPartition, int], *, skipped: bool) -> None:
        """Commit the partitions' places at once, or later when their records were skipped."""
        if skipped:
            if not self._skipped:
                self._skipped_since = time.monotonic()
            self._skipped.update(places)
            return
        for tp in places:
            self._skipped.pop(tp, None)
        assert self._consumer is not None
        await self._consumer.commit(places)

    async def _commit_skipped(self, *, now: bool = False) -> None:
        """Commit the places past skipped records, once they waited long enough (or `now`).
        A partition that moved to another consumer meanwhile is not committed: the new owner
        skips those records once more."""
        waited = time.monotonic() - self._skipped_since
        if not self._skipped or not (now or waited >= self._settings.consumer_skipped_commit_s):
            return
        held, self._skipped = self._skipped, {}
        assert self._consumer is not None
        owned = self._consumer.assignment()
        held = {tp: place for tp, place in held.items() if tp in owned}
        if held:
            with contextlib.suppress(KafkaError):
                await self._consumer.commit(held)

    async def _handle_partitions(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        # One key stays in one partition, so partitions are applied side by side (a slow event
        # holds up only its own partition) and each partition's records in order. Every
        # partition runs to its end before an error is raised, so no work is cut off halfway.
        lanes = asyncio.Semaphore(self._partitions_at_once)
        outcomes = await asyncio.gather(
            *(self._handle_partition(lanes, tp, records) for tp, records in batches.items()),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _handle_partition(
        self, lanes: asyncio.Semaphore, tp: TopicPartition, records: list[ConsumerRecord]
    ) -> None:
        async with lanes:
            outcomes = {await self.handle_record(record) for record in records}
            # Only this partition's handled records: the others commit their own.
            await self._commit({tp: records[-1].offset + 1}, skipped=outcomes == {"ignored"})

    async def _close(self) -> None:
        self._skipped = {}  # a new consumer starts from the committed places
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(consumer.stop()), 5)

    async def handle_record(self, record: ConsumerRecord) -> str:
        """Apply one record; returns the outcome (applied, duplicate, ignored, dead_letter)."""
        try:
            evt = CloudEvent.from_kafka(list(record.headers), record.value)
        except InvalidEvent as exc:
            return await self._dead_letter(record, None, str(exc), attempts=1)
        handler = self._handlers.get(evt.type)
        if handler is None:
            CONSUMED.labels(self.name, "ignored").inc()
            return "ignored"
        # Events this one causes carry its correlation id, so one journey is one id.
        token = correlation_id.set(evt.correlationid or evt.id)
        try:
            outcome = await self._apply_with_retries(record, evt, handler)
        finally:
            correlation_id.reset(token)
        CONSUMED.labels(self.name, outcome).inc()
        return outcome

    async def handle_batch(self, records: Sequence[ConsumerRecord]) -> dict[str, int]:
        """Apply records in one transaction through the batch handler; outcomes by name."""
        assert self._batch_handler is not None, "handle_batch needs a batch_handler"
        outcomes: dict[str, int] = {}
        deliveries: list[tuple[ConsumerRecord, Delivery]] = []
        for record in records:
            try:
                evt = CloudEvent.from_kafka(list(record.headers), record.value)
            except InvalidEvent as exc:
                outcome = await self._dead_letter(record, None, str(exc), attempts=1)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                continue
            if evt.type not in self._handlers:
                outcomes["ignored"] = outcomes.get("ignored", 0) + 1
                continue
            delivery = Delivery(record.topic, record.partition, record.offset, evt)
            deliveries.append((record, delivery))
        if deliveries:
            batch = await self._apply_batch_with_retries(deliveries)
            for name, count in batch.items():
                outcomes[name] = outcomes.get(name, 0) + count
        for name, count in outcomes.items():
            if name != "dead_letter":  # `_dead_letter` counted those already
                CONSUMED.labels(self.name, name).inc(count)
        return outcomes

    async def _apply_batch_with_retries(
        self, deliveries: list[tuple[ConsumerRecord, Delivery]]
    ) -> dict[str, int]:
        assert self._batch_handler is not None
        delay = 0.05
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    applied = await apply_batch_once(
                        session, self.name, [d for _, d in deliveries], self._batch_handler
                    )
                return {"applied": applied, "duplicate": len(deliveries) - applied}
            except _TRANSIENT as exc:
                logger.warning("consumer %s: database unavailable (%s)", self.name, exc)
                if self._stopping.is_set():
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            except Exception as exc:
                # One bad event must not hold the others back: apply them one by one.
                logger.warning(
                    "consumer %s: batch of %d failed (%s); applying one by one",
                    self.name,
                    len(deliveries),
                    exc,
                )
                return await self._apply_one_by_one(deliveries)

    async def _apply_one_by_one(
        self, deliveries: list[tuple[ConsumerRecord, Delivery]]
    ) -> dict[str, int]:
        assert self._batch_handler is not None
        batch_handler = self._batch_handler
        outcomes: dict[str, int] = {}
        for record, delivery in deliveries:
            # Through the batch handler with one delivery, so it still sees the offset.
            async def one(session: AsyncSession, _: CloudEvent, d: Delivery = delivery) -> None:
                await batch_handler(session, [d])

            token = correlation_id.set(delivery.event.correlationid or delivery.event.id)
            try:
                outcome = await self._apply_with_retries(record, delivery.event, one)
            finally:
                correlation_id.reset(token)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes

    async def _apply_with_retries(
        self, record: ConsumerRecord, evt: CloudEvent, handler: Handler
    ) -> str:
        attempt, delay = 0, 0.05
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    applied = await apply_once(session, self.name, evt, handler)
                return "applied" if applied else "duplicate"
            except _TRANSIENT as exc:
                # The database is away: wait for it rather than dead-lettering good events.
                logger.warning("consumer %s: database unavailable (%s)", self.name, exc)
                if self._stopping.is_set():
                    raise
            except PERMANENT as exc:
                # A business rule or payload says no: retrying cannot help.
                return await self._dead_letter(record, evt, repr(exc), attempt + 1)
            except Exception as exc:
                attempt += 1
                logger.warning(
                    "consumer %s: %s failed (attempt %d): %s", self.name, evt.type, attempt, exc
                )
                if attempt >= self._settings.consumer_max_attempts:
                    return await self._dead_letter(record, evt, repr(exc), attempt)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _dead_letter(
        self, record: ConsumerRecord, evt: CloudEvent | None, error: str, attempts: int
    ) -> str:
        logger.error(
            "consumer %s: dead-lettered %s/%s@%s: %s",
            self.name,
            record.topic,
            record.partition,
            record.offset,
            error,
        )
        async with self._sessions() as session, session.begin():
            session.add(
                DeadLetter(
                    id=uuid.uuid4(),
                    consumer=self.name,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    key=record.key.decode(errors="replace") if record.key else None,
                    event_id=evt.id if evt else None,
                    event_type=evt.type if evt else None,
                    headers=[[k, v.decode(errors="replace")] for k, v in record.headers],
                    payload=(record.value or b"").decode(errors="replace"),
                    error=error[:4000],
                    attempts=attempts,
                )
            )
        CONSUMED.labels(self.name, "dead_letter").inc()
        return "dead_letter"

    async def retry_dead_letter(self, session: AsyncSession, letter: DeadLetter) -> bool:
        """Apply a dead-lettered event again in the caller's transaction."""
        headers = [(k, v.encode()) for k, v in letter.headers]
        evt = CloudEvent.from_kafka(headers, letter.payload.encode())
        handler = self._handlers.get(evt.type)
        if handler is None:
            raise InvalidEvent(f"no handler for {evt.type}")
        async with session.begin_nested():
            applied = await apply_once(session, self.name, evt, handler)
        letter.resolved_at = await session.scalar(select(func.now()))
        return applied
