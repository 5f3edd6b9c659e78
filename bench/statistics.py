"""Benchmark 8: statistics — event ingestion and the national and municipality views at
national scale (about 600 schools, 43 municipalities, 220,000 pupils, 250,000 devices).

Pupils come from the VIIS stand-in's national dataset (in process, over ASGI). A deterministic
national history of device, reservation, contract and ticket events
(`bench.synthetic.national_history`) goes through the statistics consumer's own
batch handler (inbox, projection, one transaction per 2,000 events) — the broker is left out,
so this is the service's side of ingestion. The views are then computed by the service's view
code, fresh each time (no cache), after the database has settled (VACUUM ANALYZE, CHECKPOINT).

The rebuild publishes a history of 1,000,000 events onto this run's topics on the real broker
and runs `statistics-rebuild` (`statistics_service.rebuild.rebuild`) into a fresh database;
its baseline is a raw aiokafka consumer reading the same events and doing nothing with them.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.infra import Infra
from bench.rawsql import Statement, captured, sql_pool, sql_sender
from bench.relay import delete_topics
from bench.report import Row
from bench.search import percentile
from bench.statistics_usage import usage_rows
from bench.synthetic import national_history, publish_history
from shared_kit.auth import Principal
from shared_kit.db import create_engine, create_session_factory
from shared_kit.viis import HttpViisDirectory
from statistics_service.config import StatisticsSettings
from statistics_service.consumers import build_consumers
from statistics_service.main import MIGRATIONS
from statistics_service.rebuild import RebuildReport, rebuild
from statistics_service.repository.views import DeviceFilter
from statistics_service.service import pupils, views

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "dev"))
import viis_standin

DEVICES = 250_000
EVENTS = 300_000
BATCH = 2_000
VIEW_CALLS = 60
TARGET_EVENTS_PER_S = 5_000
TARGET_VIEW_P99_MS = 50.0
REBUILD_EVENTS = 1_000_000
TARGET_REBUILD_S = 120.0
RAW_INSERT = (
    "INSERT INTO bench_raw_event SELECT * FROM unnest(CAST(:k AS text[]), CAST(:v AS bytea[]))"
)
SOURCES = ("inventory", "reservations", "contracts", "tickets")
RIGA = "0010000"


def records(
    schools: list[tuple[str, str]], devices: int = DEVICES, events: int = EVENTS
) -> list[ConsumerRecord[bytes, bytes]]:
    """The synthetic history as broker records (what the consumer would poll)."""
    return [
        ConsumerRecord("inventory.events", i % 6, i, 0, 0, evt.subject.encode(),
                       evt.kafka_value(), None, 0, 0, evt.kafka_headers())
        for i, evt in enumerate(national_history(schools, devices=devices, events=events))
    ]  # fmt: skip


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Ingestion and the views on one database; the rebuild on another."""
    schools = [(s.registration_number, s.municipality_code)
               for s in viis_standin.national_institutions()]  # fmt: skip
    async with infra.fresh_database("bench_statistics", MIGRATIONS) as url:
        settings = StatisticsSettings(database_url=url, environment="test")
        engine = create_engine(url, pool_size=4)
        sessions = create_session_factory(engine)
        try:
            await load_pupils(sessions)
            rows = await ingestion(sessions, settings, records(schools))
            await infra.settle(url)
            rows += await view_rows(url, sessions, settings)
            idle_rows, idle_note = await usage_rows(url, sessions, settings)
            rows += idle_rows
        finally:
            await engine.dispose()
    rebuilt, rebuild_notes = await rebuild_rows(infra, schools)
    notes = [
        f"statistics: {len(schools)} schools from the VIIS stand-in's national dataset, "
        f"{DEVICES:,} devices, a synthetic history of {EVENTS:,} events through the "
        f"consumer's batch handler ({BATCH:,} per transaction, no broker); raw SQL baseline: "
        "the same events' ids and bodies inserted by one multi-row INSERT per batch into a "
        "table of their own; views computed "
        f"{VIEW_CALLS} times each by the service's view code (no HTTP, no cache) after a "
        "VACUUM (ANALYZE) and CHECKPOINT, beside the same SQL statements executed alone",
        idle_note,
        *rebuild_notes,
    ]
    return rows + rebuilt, notes


async def ingestion(
    sessions: async_sessionmaker[AsyncSession],
    settings: StatisticsSettings,
    polled: list[ConsumerRecord[bytes, bytes]],
) -> list[Row]:
    """Events/s through the consumer's batch handler, beside a raw SQL insert of them."""
    [runner] = build_consumers(sessions, settings)
    started = time.perf_counter()
    for i in range(0, len(polled), BATCH):
        await runner.handle_batch(polled[i : i + BATCH])
    rate = len(polled) / (time.perf_counter() - started)
    raw_rate = len(polled) / await raw_insert_seconds(sessions, polled)
    return [
        Row(f"Statistics: ingestion, {len(polled):,} events", rate, "events/s",
            f"≥ {TARGET_EVENTS_PER_S:,}", rate >= TARGET_EVENTS_PER_S,
            raw_rate, f"raw SQL INSERT of the events, {BATCH:,} per transaction"),
    ]  # fmt: skip


async def raw_insert_seconds(
    sessions: async_sessionmaker[AsyncSession], polled: list[ConsumerRecord[bytes, bytes]]
) -> float:
    """Seconds to store the same records raw: key and value, one INSERT per batch."""
    async with sessions() as session, session.begin():
        await session.execute(text("CREATE TABLE bench_raw_event (k text, v bytea)"))
    started = time.perf_counter()
    for i in range(0, len(polled), BATCH):
        batch = polled[i : i + BATCH]
        async with sessions() as session, session.begin():
            await session.execute(
                text(RAW_INSERT),
                {"k": [(r.key or b"").decode() for r in batch],
                 "v": [r.value for r in batch]},
            )  # fmt: skip
    return time.perf_counter() - started


async def view_rows(
    url: str, sessions: async_sessionmaker[AsyncSession], settings: StatisticsSettings
) -> list[Row]:
    """p50 and p99 of each view, beside its SQL statements replayed alone over asyncpg."""
    rows = []
    for name, code in (("national view", None), ("Rīga view (106 schools)", RIGA)):
        times = await view_times(sessions, settings, code)
        [statements] = await captured(url, [partial(view, settings=settings, code=code)])
        floor = await sql_times(url, statements)
        baseline = f"raw SQL: its {len(statements)} statements over asyncpg"
        p99 = percentile(times, 99)
        rows += [
            Row(f"Statistics: {name}, fresh: p50", percentile(times, 50), "ms", "", None,
                percentile(floor, 50), baseline),
            Row(f"Statistics: {name}, fresh: p99", p99, "ms",
                f"< {TARGET_VIEW_P99_MS:.0f} ms", p99 < TARGET_VIEW_P99_MS,
                percentile(floor, 99), baseline),
        ]  # fmt: skip
    return rows


async def load_pupils(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Institutions and pupil counts from the stand-in's national dataset."""
    app = viis_standin.create_app("bench", "national")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        viis = HttpViisDirectory("http://viis", "bench", http=http)
        async with sessions() as session, session.begin():
            now = dt.datetime.now(dt.UTC)
            await pupils.refresh_pupils(session, viis=viis, now=now)


async def view(session: AsyncSession, *, settings: StatisticsSettings, code: str | None) -> None:
    """The national (None) or a municipality's view, computed by the service's code."""
    analyst = Principal(subject="bench-analyst", roles=frozenset({"ministry_analyst"}))
    now = dt.datetime.now(dt.UTC)
    if code is None:
        await views.national(session, principal=analyst, settings=settings, now=now,
                             devices=DeviceFilter())  # fmt: skip
    else:
        await views.municipality(session, principal=analyst, code=code, settings=settings,
                                 now=now, devices=DeviceFilter())  # fmt: skip


async def view_times(
    sessions: async_sessionmaker[AsyncSession], settings: StatisticsSettings, code: str | None
) -> list[float]:
    """Milliseconds of a view computed afresh each call (one warm-up call first)."""
    times: list[float] = []
    for call in range(VIEW_CALLS + 1):
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            await view(session, settings=settings, code=code)
        if call:
            times.append((time.perf_counter() - started) * 1000)
    return times


async def sql_times(url: str, statements: list[Statement]) -> list[float]:
    """Milliseconds of the statements replayed in turn over one asyncpg connection."""
    times = []
    async with sql_pool(url, 1) as pool:
        send = sql_sender(pool, timeout_s=30)
        for _ in range(VIEW_CALLS):
            started = time.perf_counter()
            assert await send(statements)
            times.append((time.perf_counter() - started) * 1000)
    return times


async def rebuild_rows(infra: Infra, schools: list[tuple[str, str]]) -> tuple[list[Row], list[str]]:
    """statistics-rebuild of REBUILD_EVENTS events, beside a raw consumer reading them."""
    unique = uuid.uuid4().hex[:8]
    topics: dict[str, Any] = {f"{s}_topic": f"{s}.events.bench-{unique}" for s in SOURCES}
    async with infra.fresh_database("bench_statistics_rebuild", MIGRATIONS) as url:
        settings = StatisticsSettings(
            database_url=url,
            environment="test",
            kafka_bootstrap_servers=infra.bootstrap,
            **topics,
        )
        print(f"  publishing {REBUILD_EVENTS:,} events …", flush=True)
        started = time.perf_counter()
        history = national_history(schools, devices=DEVICES, events=REBUILD_EVENTS)
        sent = await publish_history(settings, history)
        publish_s = time.perf_counter() - started
        try:
            print("  raw consumer, then statistics-rebuild …", flush=True)
            raw_s = await raw_read_seconds(settings, sent)
            report = await rebuild(settings)
        finally:
            await delete_topics(settings, settings.consumed_topics)
    return [rebuild_row(report, raw_s)], [rebuild_note(report, sent, publish_s)]


def rebuild_row(report: RebuildReport, raw_s: float) -> Row:
    """The rebuild's seconds against the target and the raw read."""
    return Row(
        f"Statistics: rebuild, {report.events_read:,} events",
        report.seconds,
        "s",
        f"< {TARGET_REBUILD_S:.0f} s",
        report.seconds < TARGET_REBUILD_S,
        raw_s,
        "raw aiokafka consumer reading them",
    )


def rebuild_note(report: RebuildReport, sent: int, publish_s: float) -> str:
    """What the rebuild did."""
    return (
        f"statistics-rebuild: {sent:,} events of the same synthetic national history published "
        f"onto this run's four topics ({publish_s:.0f} s, not counted), replayed into fresh "
        f"tables of a fresh database and swapped in: {report.events_read:,} read, "
        f"{report.facts:,} facts, {report.skipped:,} skipped, "
        f"{report.events_per_second:,.0f} events/s"
    )


async def raw_read_seconds(settings: StatisticsSettings, expected: int) -> float:
    """Seconds a raw consumer (the rebuild's fetch settings, no group) takes to read
    `expected` records from the beginning of the consumed topics."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in settings.consumed_topics
                      for p in consumer.partitions_for_topic(t) or ()]  # fmt: skip
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        started, seen = time.perf_counter(), 0
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=1000, max_records=20_000)
            seen += sum(len(records) for records in batches.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()
