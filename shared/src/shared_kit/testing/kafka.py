"""Test helpers that talk to the real broker: publish CloudEvents, read a topic, wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared_kit.events.envelope import CloudEvent

T = TypeVar("T")


async def publish(bootstrap: str, topic: str, *events: CloudEvent) -> None:
    """Send CloudEvents in binary mode, keyed by subject, as a producing service would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for evt in events:
            await producer.send_and_wait(
                topic, evt.kafka_value(), key=evt.subject.encode(), headers=evt.kafka_headers()
            )
    finally:
        await producer.stop()


async def read_topic(
    bootstrap: str, topic: str, *, at_least: int, timeout_s: float = 20.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of a topic from the beginning, once at least `at_least` have arrived."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        metadata_max_age_ms=500,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        partitions = await _partitions(consumer, topic, timeout_s)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout_s
        while len(records) < at_least and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for tp_records in batch.values():
                records.extend(tp_records)
        # Give stragglers (duplicates) a moment to show up too.
        for tp_records in (await consumer.getmany(timeout_ms=300)).values():
            records.extend(tp_records)
    finally:
        await consumer.stop()
    return records


async def _partitions(
    consumer: AIOKafkaConsumer, topic: str, timeout_s: float
) -> list[TopicPartition]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ids = consumer.partitions_for_topic(topic)
        if ids:
            return [TopicPartition(topic, p) for p in sorted(ids)]
        await consumer.topics()  # refresh metadata
        await asyncio.sleep(0.1)
    raise TimeoutError(f"topic {topic} has no partitions")


async def group_lag(bootstrap: str, group: str, topic: str, *, timeout_s: float = 20.0) -> int:
    """How many records of a topic a consumer group has not yet committed past (0: none)."""
    ends = await _high_watermarks(bootstrap, topic, timeout_s)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        lag = 0
        for partition, end in ends.items():
            committed = await consumer.committed(partition)
            lag += max(end - (committed or 0), 0)
        return lag
    finally:
        await consumer.stop()


async def _high_watermarks(
    bootstrap: str, topic: str, timeout_s: float
) -> dict[TopicPartition, int]:
    # From fetches, not from an end-offset request: Tansu answers those wrongly after batched
    # writes (shared/BROKER.md).
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        metadata_max_age_ms=500,
    )
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic, timeout_s)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            marks = {tp: mark for tp in partitions if (mark := consumer.highwater(tp)) is not None}
            if len(marks) == len(partitions):
                return marks
            await consumer.getmany(timeout_ms=200)
        raise TimeoutError(f"no high watermark for every partition of {topic}")
    finally:
        await consumer.stop()


def events_of(records: list[ConsumerRecord[bytes, bytes]]) -> list[CloudEvent]:
    """Decode records into CloudEvents."""
    return [CloudEvent.from_kafka(list(r.headers), r.value) for r in records]


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout_s: float = 20.0, interval_s: float = 0.1
) -> T:
    """Poll `check` until it returns a truthy value; fail with its last answer otherwise."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s (last: {last!r})")
