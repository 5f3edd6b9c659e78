"""Benchmark 3: outbox relay throughput against a raw aiokafka producer."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.infra import Infra
from bench.report import Row
from inventory_service.config import InventorySettings
from shared_kit.db import create_engine, create_session_factory
from shared_kit.events.envelope import CloudEvent
from shared_kit.events.kafka import ensure_topics, make_producer
from shared_kit.events.outbox import OutboxMessage, add_events, kafka_headers
from shared_kit.events.relay import OutboxRelay
from shared_kit.settings import ServiceSettings

EVENTS = 50_000
PER_TRANSACTION = 10_000
BATCH_SIZE = 2_000
KEYS = 5_000
TARGET_PER_S = 5_000
TIMEOUT_S = 300.0
POLL_S = 0.05

Message = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers


def event(i: int) -> CloudEvent:
    """A device-like event whose JSON data is about 500 bytes."""
    device = uuid.UUID(int=i % KEYS)
    data = {
        "device": {
            "device_id": str(device),
            "version": 1 + i // KEYS,
            "serial_number": f"SN{i:09d}",
            "asset_tag": f"RIX-{i:08d}",
            "municipality_code": "0010000",
            "institution_registration_number": "3113900001",
            "catalogue_item_code": "CB-11-GR1-3",
            "category": "chromebook",
            "os": "chromeos",
            "screen_inches": "11.6",
            "touch": True,
            "funding_source": "recovery_fund",
            "delivery_date": "2024-09-01",
            "warranty_ends_on": "2029-09-01",
            "insured_until": None,
            "condition": "new",
            "status": "available",
        },
        "changed_fields": ["status", "condition", "institution_registration_number"],
    }
    return CloudEvent(
        type="lv.datori.inventory.device.updated.v1",
        source="/datori/inventory",
        subject=str(device),
        data=data,
        municipality="0010000",
        correlationid=str(uuid.uuid4()),
    )


def settings_for(url: str, bootstrap: str, topic: str) -> InventorySettings:
    """Inventory settings pointing at the benchmark's database, broker and topic."""
    return InventorySettings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        events_topic=topic,
        outbox_batch_size=BATCH_SIZE,
        run_background_workers=False,
    )


async def fill_outbox(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Write the events into the outbox, a few large transactions."""
    for start in range(0, EVENTS, PER_TRANSACTION):
        evts = [event(i) for i in range(start, start + PER_TRANSACTION)]
        async with sessions() as session, session.begin():
            await add_events(session, evts)


async def drained(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """True when no outbox row is waiting for publication."""
    async with sessions() as session:
        waiting = await session.scalar(
            select(OutboxMessage.seq).where(OutboxMessage.published_at.is_(None)).limit(1)
        )
    return waiting is None


async def stored_messages(sessions: async_sessionmaker[AsyncSession]) -> list[Message]:
    """The outbox rows as Kafka records, for the raw producer to send."""
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.seq))).all()
    return [(r.key.encode(), r.payload, kafka_headers(r.headers)) for r in rows]


async def relay_seconds(
    sessions: async_sessionmaker[AsyncSession], settings: InventorySettings
) -> float:
    """Run the relay until the outbox is empty; seconds taken."""
    relay = OutboxRelay(sessions, settings, [settings.events_topic])
    started = time.perf_counter()
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(TIMEOUT_S):
            while not await drained(sessions):
                if task.done():
                    task.result()
                    raise RuntimeError("the relay stopped before the outbox was empty")
                await asyncio.sleep(POLL_S)
        return time.perf_counter() - started
    finally:
        await relay.stop()
        await asyncio.wait_for(task, 30)


async def raw_seconds(settings: InventorySettings, topic: str, messages: list[Message]) -> float:
    """Send the same records with a plain producer (send, then gather); seconds taken."""
    producer = make_producer(settings)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [
            await producer.send(topic, value, key=key, headers=headers)
            for key, value, headers in messages
        ]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def measure(url: str, bootstrap: str) -> tuple[float, float, int]:
    """Relay and raw producer seconds for the same events, and the payload size."""
    suffix = uuid.uuid4().hex[:8]
    settings = settings_for(url, bootstrap, f"bench.relay.{suffix}")
    topics = [settings.events_topic, f"bench.raw.{suffix}"]
    await ensure_topics(settings, topics)
    engine = create_engine(url, pool_size=4)
    try:
        sessions = create_session_factory(engine, outbox_topic=settings.events_topic)
        await fill_outbox(sessions)
        messages = await stored_messages(sessions)
        relay_s = await relay_seconds(sessions, settings)
        raw_s = await raw_seconds(settings, topics[1], messages)
    finally:
        await engine.dispose()
        await delete_topics(settings, topics)
    return relay_s, raw_s, len(messages[0][1])


async def delete_topics(settings: ServiceSettings, topics: list[str]) -> None:
    """Remove the benchmark's topics (they matter on a real Kafka)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics(topics)
    finally:
        await admin.close()


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Relay events/s (target ≥ 5,000/s) beside a raw producer's for the same records."""
    async with infra.fresh_database("bench_relay") as url:
        relay_s, raw_s, size = await measure(url, infra.bootstrap)
    relay_rate = EVENTS / relay_s
    rows = [
        Row(
            f"Outbox relay, {EVENTS:,} events",
            relay_rate,
            "events/s",
            f"≥ {TARGET_PER_S:,}",
            relay_rate >= TARGET_PER_S,
            baseline=EVENTS / raw_s,
            baseline_name="raw aiokafka producer, the same records",
        ),
    ]
    notes = [f"relay: {relay_s:.2f} s, raw producer: {raw_s:.2f} s, event data {size} B"]
    return rows, notes
