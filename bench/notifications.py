"""Benchmark: reservation events → e-mails accepted by a real SMTP server (the MailSink with
STARTTLS, in a process of its own), beside raw aiosmtplib sends to the same sink.

2,000 people with a verified e-mail address each (written into the service's tables), then
2,000 `reservation.approved` CloudEvents (valid per the committed contract, `requested_by` each
person) published to the reservations topic as fast as the producer goes, while the service
runs as in production: one uvicorn process (a pod) with its consumer group, dispatcher and
scheduler. Throughput: messages accepted by the sink / (last accepted - first published).
Lag: the sink's acceptance - the event's publication, matched through the Message-ID (the
delivery id → its notice → the notice's cause, the event id), for the burst (so it includes
the queue) and for 1,000 more events published at 100/s (below capacity: no queue). Then, in
this process, where the time goes: the consumer alone on a backlog of 2,000 events (events →
notices and their deliveries), and the dispatcher alone on the backlog of e-mails that
leaves. The raw baseline sends messages composed as the service composes them with
aiosmtplib, at the same concurrency on kept connections.

`BENCH_PROFILE=1` records the service process with py-spy (collapsed stacks) into
bench/results/notifications-profile.txt.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.infra import Infra, cpu_seconds, profiled, service_server
from bench.notifications_data import (
    WARM,
    Wiring,
    add_people,
    approved,
    notices_made,
    outcomes,
    person,
    publish,
)
from bench.report import Row
from bench.search import percentile
from bench.sink import SinkProcess, raw_sends
from notifications_service.config import NotificationsSettings
from notifications_service.consumers import build_consumers
from notifications_service.main import MIGRATIONS
from notifications_service.workers import Dispatcher
from shared_kit.clock import system_clock
from shared_kit.db import create_engine, create_session_factory
from shared_kit.events.kafka import ensure_topics

EVENTS = 2_000
PACED, PACED_PER_S = 1_000, 100.0
TARGET_PER_S = 200
TIMEOUT_S = 300.0
KIND = "reservation_approved"


@dataclass(frozen=True)
class Run:
    """The service run: seconds from the first event published to the last message, the
    event → sink and event → notice lags (ms), and the service's CPU seconds."""

    seconds: float
    lags: list[float]
    notice_lags: list[float]
    cpu_s: float
    paced_lags: list[float]  # PACED events at PACED_PER_S, below capacity: no queue


@contextlib.asynccontextmanager
async def service(infra: Infra, wiring: Wiring, round_: str) -> AsyncIterator[int]:
    """The service as one uvicorn process (a pod), running its workers; its pid."""
    async with service_server(
        infra,
        "notifications",
        "NOTIFICATIONS_",
        wiring.url,
        wiring.env(round_),
        benchmark="notifications",
        workers=1,
    ) as server:
        yield server.pid


async def warm_up(wiring: Wiring, settings: NotificationsSettings) -> None:
    """One event through the running service (its group joined, its connections open)."""
    await publish(settings, [approved(WARM)])
    await wiring.sink.until(1, TIMEOUT_S)
    await wiring.sink.clear()


async def through_the_service(infra: Infra, wiring: Wiring, engine: AsyncEngine) -> Run:
    """EVENTS events published while the service runs; every e-mail in the sink."""
    settings = wiring.settings("service")
    await ensure_topics(settings, [settings.reservations_topic])
    events = [approved(person(i)) for i in range(EVENTS)]
    async with service(infra, wiring, "service") as pid:
        await warm_up(wiring, settings)
        async with profiled(pid, "notifications"):
            cpu = cpu_seconds(pid) or 0.0
            published = await publish(settings, events)
            await wiring.sink.until(EVENTS, TIMEOUT_S)
            cpu = (cpu_seconds(pid) or 0.0) - cpu
        received = await wiring.sink.received()
        await wiring.sink.clear()
        paced = [approved(person(i)) for i in range(PACED)]
        paced_published = await publish(settings, paced, PACED_PER_S)
        await wiring.sink.until(PACED, TIMEOUT_S)
        paced_received = await wiring.sink.received()
    made = await outcomes(engine)
    lags, notice_lags = lags_of(received, made, published)
    paced_lags, _ = lags_of(paced_received, made, paced_published)
    last = max(at.timestamp() for at in received.values())
    return Run(last - min(published.values()), lags, notice_lags, cpu, paced_lags)


def lags_of(
    received: dict[str, dt.datetime],
    made: dict[str, tuple[str, dt.datetime]],
    published: dict[str, float],
) -> tuple[list[float], list[float]]:
    """Each message's lag from its event's publication to the sink and to its notice (ms)."""
    lags, notice_lags = [], []
    for mid, at in received.items():
        cause, created = made[mid]
        if cause in published:
            lags.append((at.timestamp() - published[cause]) * 1000)
            notice_lags.append((created.timestamp() - published[cause]) * 1000)
    return lags, notice_lags


@dataclass(frozen=True)
class Alone:
    """One part of the service on a backlog: items per second and CPU ms per item."""

    rate: float
    cpu_ms: float


async def consumer_alone(wiring: Wiring, engine: AsyncEngine) -> Alone:
    """The service's consumer in this process on a backlog of EVENTS events published first:
    events → notices and their deliveries (rate from the first notice to the last)."""
    settings = wiring.settings("consumer")
    await ensure_topics(settings, [settings.reservations_topic])
    events = [approved(person(i)) for i in range(EVENTS)]
    await publish(settings, events)
    sessions = create_session_factory(engine)
    (runner,) = build_consumers(sessions, settings)
    cpu = time.process_time()
    task = asyncio.create_task(runner.run())
    causes = [e.id for e in events]
    try:
        async with asyncio.timeout(TIMEOUT_S):
            while (made := await notices_made(engine, causes))[0] < EVENTS:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        cpu = time.process_time() - cpu
    finally:
        await runner.stop()
        await asyncio.wait_for(task, 30)
    return Alone((EVENTS - 1) / made[1], cpu * 1000 / EVENTS)


async def dispatcher_alone(wiring: Wiring, engine: AsyncEngine) -> Alone:
    """The dispatcher in this process on the backlog of e-mails the consumer left."""
    await wiring.sink.clear()
    settings = wiring.settings("dispatcher")
    dispatcher = Dispatcher(create_session_factory(engine), settings, system_clock)
    cpu, started = time.process_time(), time.perf_counter()
    task = asyncio.create_task(dispatcher.run())
    try:
        await wiring.sink.until(EVENTS, TIMEOUT_S)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await dispatcher.stop()
        await asyncio.wait_for(task, 30)
    return Alone(EVENTS / seconds, cpu * 1000 / EVENTS)


@dataclass(frozen=True)
class Figures:
    """Everything one benchmark run measured."""

    run: Run
    consumer: Alone
    dispatcher: Alone
    raw_s: float
    raw_cpu_ms: float  # this process's CPU per raw message, composing included
    settings: NotificationsSettings


async def measure(infra: Infra, sink: SinkProcess) -> Figures:
    """The service run, the consumer and the dispatcher alone, and the raw baseline."""
    async with infra.fresh_database("bench_notifications", MIGRATIONS) as url:
        wiring = Wiring(url, infra.bootstrap, uuid.uuid4().hex[:8], sink)
        settings = wiring.settings("raw")
        engine = create_engine(url, pool_size=settings.db_pool_size)
        try:
            await add_people(engine, settings, EVENTS)
            run = await through_the_service(infra, wiring, engine)
            consumer = await consumer_alone(wiring, engine)
            dispatcher = await dispatcher_alone(wiring, engine)
        finally:
            await engine.dispose()
    await sink.clear()
    cpu = time.process_time()
    raw_s = await raw_sends(settings, EVENTS, KIND)
    raw_cpu_ms = (time.process_time() - cpu) * 1000 / EVENTS
    assert await sink.count() == EVENTS
    return Figures(run, consumer, dispatcher, raw_s, raw_cpu_ms, settings)


def rows_of(f: Figures) -> list[Row]:
    """The table's rows."""
    rate, raw_rate = EVENTS / f.run.seconds, EVENTS / f.raw_s
    raw = "raw aiosmtplib, same concurrency, kept connections"
    return [
        Row(
            f"Notifications: {EVENTS:,} events → e-mails accepted by the sink (one process)",
            rate,
            "messages/s",
            f"≥ {TARGET_PER_S}",
            rate >= TARGET_PER_S,
            baseline=raw_rate,
            baseline_name=raw,
        ),
        Row("Notifications: event → e-mail lag p50 (burst)", percentile(f.run.lags, 50), "ms"),
        Row("Notifications: event → e-mail lag p99 (burst)", percentile(f.run.lags, 99), "ms"),
        Row(
            f"Notifications: event → e-mail lag p50 at {PACED_PER_S:.0f} events/s",
            percentile(f.run.paced_lags, 50),
            "ms",
        ),
        Row(
            f"Notifications: event → e-mail lag p99 at {PACED_PER_S:.0f} events/s",
            percentile(f.run.paced_lags, 99),
            "ms",
        ),
        Row(
            "Notifications: service CPU per message (consumer + dispatcher)",
            f.run.cpu_s * 1000 / EVENTS,
            "ms",
        ),
        Row(
            f"Notifications: consumer alone, a backlog of {EVENTS:,} events → notices",
            f.consumer.rate,
            "events/s",
        ),
        Row(
            f"Notifications: dispatcher alone, a backlog of {EVENTS:,} e-mails",
            f.dispatcher.rate,
            "messages/s",
            baseline=raw_rate,
            baseline_name=raw,
        ),
    ]


def notes_of(f: Figures) -> list[str]:
    """What the figures mean and how they were taken."""
    s = f.settings
    return [
        f"notifications: {f.run.seconds:.2f} s from the first event published to the last "
        f"e-mail accepted, {f.raw_s:.2f} s raw; the service is one uvicorn process (a pod) "
        f"with its consumer group, dispatcher and scheduler; STARTTLS, concurrency "
        f"{s.dispatch_concurrency}, batches of {s.dispatch_batch_size}; event → notice lag "
        f"p50 {percentile(f.run.notice_lags, 50):.0f} ms, p99 "
        f"{percentile(f.run.notice_lags, 99):.0f} ms (a burst: the lags include the queue)",
        f"notifications, where the CPU goes: consumer alone {f.consumer.cpu_ms:.2f} ms per "
        f"event (Kafka fetch, inbox, rules, notice, fan-out), dispatcher alone "
        f"{f.dispatcher.cpu_ms:.2f} ms per e-mail (claim, render, compose, SMTP with TLS, "
        f"outcome); the service process {f.run.cpu_s * 1000 / EVENTS:.2f} ms per message; raw "
        f"aiosmtplib {f.raw_cpu_ms:.2f} ms per message (composing, TLS, SMTP)",
    ]


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Events → e-mails through the service (target ≥ 200/s) beside raw aiosmtplib."""
    sink = await SinkProcess.start()
    try:
        figures = await measure(infra, sink)
    finally:
        await sink.stop()
    return rows_of(figures), notes_of(figures)
