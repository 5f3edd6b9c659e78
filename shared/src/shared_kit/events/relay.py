"""Outbox relay: publishes committed outbox rows to Kafka, in order, without loss."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import NamedTuple

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import Counter, Gauge
from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.db import statements_commit_alone
from shared_kit.events.kafka import ensure_topics, make_producer
from shared_kit.events.outbox import (
    OutboxMessage,
    kafka_headers,
    subscribe_wakeup,
    unsubscribe_wakeup,
)
from shared_kit.prepared import Prepared
from shared_kit.settings import ServiceSettings

logger = logging.getLogger(__name__)

# One advisory lock id for "the relay": only one replica publishes at a time, which keeps
# per-key order across replicas; SKIP LOCKED keeps a second replica from blocking on rows.
RELAY_LOCK_ID = 0x0D47_0B0C
# How soon a relay woken by a commit tries again when another replica holds the lock.
LOCK_RETRY_S = 0.05

PUBLISHED = Counter("outbox_published_total", "Outbox events published", ["topic"])
PENDING = Gauge("outbox_pending", "Outbox events not yet published (last seen)")
FAILURES = Counter("outbox_publish_failures_total", "Failed outbox publication attempts")

# Whether anything waits: one statement outside a transaction, for a poll that finds nothing.
_WAITING = Prepared(select(exists().where(OutboxMessage.published_at.is_(None))))
_LOCK = Prepared(select(func.pg_try_advisory_xact_lock(RELAY_LOCK_ID)))
# The next rows in order, taken and marked published in one statement: if sending them fails,
# the transaction rolls back and they wait again. SKIP LOCKED keeps a replica that holds them
# from blocking this one.
_BATCH = (
    select(OutboxMessage.seq)
    .where(OutboxMessage.published_at.is_(None))
    .order_by(OutboxMessage.seq)
    .limit(bindparam("size"))
    .with_for_update(skip_locked=True)
    .cte("batch")
)
_CLAIM = Prepared(
    update(OutboxMessage)
    .where(OutboxMessage.seq == _BATCH.c.seq)
    .values(published_at=func.now())
    .returning(
        OutboxMessage.seq,
        OutboxMessage.topic,
        OutboxMessage.key,
        OutboxMessage.headers,
        OutboxMessage.payload,
    )
)


class Pending(NamedTuple):
    """An outbox row as publishing needs it."""

    seq: int
    topic: str
    key: str
    headers: list[list[str]]
    payload: bytes

    @classmethod
    def of(cls, record: asyncpg.Record) -> Pending:
        """From a claimed row (asyncpg hands JSONB over as its text)."""
        headers = record["headers"]
        return cls(
            record["seq"],
            record["topic"],
            record["key"],
            json.loads(headers) if isinstance(headers, str) else headers,
            record["payload"],
        )


class OutboxRelay:
    """Background task that moves outbox rows to the broker."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: ServiceSettings,
        topics: list[str],
    ) -> None:
        self._sessions = session_factory
        self._settings = settings
        self._topics = topics
        self._producer: AIOKafkaProducer | None = None
        self._stopping = asyncio.Event()
        self._wakeup = subscribe_wakeup()
        self._lock_busy = False  # the last batch found another replica holding the lock
        self._woken = False  # rows committed in this process may wait for us
        self.broker_ok = False

    async def run(self) -> None:
        """Publish until stopped, backing off while the broker or database is down."""
        backoff = 0.2
        while not self._stopping.is_set():
            # From here on, a commit in this process wakes the next round: also one that lands
            # while this batch is out (after its SELECT), which the batch does not carry.
            self._wakeup.clear()
            try:
                published = await self.publish_batch()
                backoff = 0.2
            except (TimeoutError, KafkaError, OSError, DBAPIError) as exc:
                FAILURES.inc()
                self.broker_ok = False
                logger.warning("outbox relay: %s; retrying in %.1fs", type(exc).__name__, backoff)
                await self._reset_producer()
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if published < self._settings.outbox_batch_size:
                await self._idle()
        await self._drain()

    async def stop(self) -> None:
        """Ask the loop to finish; it drains what is left before returning."""
        self._stopping.set()
        self._wakeup.set()

    async def _drain(self, timeout_s: float = 5.0) -> None:
        # On shutdown, publish what requests committed so nothing waits for the next start.
        # With the broker down there is nothing to drain to: the rows wait in the outbox.
        if self.broker_ok:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(timeout_s):
                    while await self.publish_batch():
                        pass
        await self._reset_producer()
        unsubscribe_wakeup(self._wakeup)

    async def publish_batch(self) -> int:
        """Publish one batch in one transaction; return how many rows went out."""
        producer = await self._ensure_producer()
        # A started producer reached the broker: a shutdown drains even when every batch so
        # far was empty (a pod whose first writes arrive as it is being stopped).
        self.broker_ok = True
        if not self._woken and not await self._waiting():
            self._lock_busy = False
            PENDING.set(0)
            return 0
        async with self._sessions() as session, session.begin():
            locked = await _LOCK.fetchrow(session, {})
            self._lock_busy = not (locked and locked[0])
            if self._lock_busy:
                return 0
            self._woken = False
            claimed = await _CLAIM.fetch(session, {"size": self._settings.outbox_batch_size})
            if not claimed:
                PENDING.set(0)
                return 0
            rows = sorted((Pending.of(r) for r in claimed), key=lambda row: row.seq)
            await self._send_all(producer, rows)
        return len(rows)

    async def _waiting(self) -> bool:
        """Whether any row waits (a poll, not a commit of this process, woke the relay)."""
        async with self._sessions() as session:
            await statements_commit_alone(session)
            found = await _WAITING.fetchrow(session, {})
        return bool(found and found[0])

    async def _send_all(self, producer: AIOKafkaProducer, rows: Sequence[Pending]) -> None:
        # send() only enqueues; same key → same partition, and aiokafka keeps one request in
        # flight per partition, so per-key order holds. A failure rolls the whole batch back:
        # rows already sent are sent again, and consumers' inboxes drop the duplicates.
        futures = [
            await producer.send(
                r.topic,
                r.payload,
                key=r.key.encode(),
                headers=kafka_headers(r.headers),
            )
            for r in rows
        ]
        await asyncio.gather(*futures)
        for topic, count in collections.Counter(r.topic for r in rows).items():
            PUBLISHED.labels(topic).inc(count)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            # An in-memory broker forgets topics on restart: create them before publishing.
            await ensure_topics(self._settings, self._topics)
            producer = make_producer(self._settings)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _reset_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()

    async def _idle(self) -> None:
        if self._stopping.is_set():
            return
        if self._lock_busy and self._woken:
            # This process committed rows, but another replica's relay held the lock and may
            # have looked before the commit: try again soon, not after a whole poll interval.
            await self._sleep(LOCK_RETRY_S)
            return
        await self._sleep(self._settings.outbox_poll_interval_s, wake=self._wakeup)
        self._woken = self._wakeup.is_set()

    async def _sleep(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        waiter = wake or self._stopping
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), seconds)
