"""Benchmark: reservation events → e-mails accepted by a real SMTP server (the MailSink with
STARTTLS, in a process of its own), beside raw aiosmtplib sends to the same sink.

2,000 people with a verified e-mail address each (written into the service's tables), then
2,000 `reservation.approved` CloudEvents (valid per the committed contract, `requested_by` each
person) published to the reservations topic as fast as the producer goes, while the service
runs as in production: one uvicorn process (a pod) with its consumer group, dispatcher and
scheduler. Throughput: messages accepted by the sink / (last accepted - first published).
Lag: the sink's acceptance - the event's publication, matched through the Message-ID (the
delivery id → its notice → the notice's cause, the event id). Then, in this process, where the
time goes: the consumer alone on a backlog of 2,000 events (events → notices and their
deliveries), and the dispatcher alone on the backlog of e-mails that leaves. The raw
baseline sends composed messages with aiosmtplib at the same concurrency on kept connections.

`BENCH_PROFILE=1` records the service process with py-spy (collapsed stacks) into
bench/results/notifications-profile.txt.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import signal
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiosmtplib
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.infra import Infra, cpu_seconds, service_server
from bench.report import Row, results_dir
from bench.search import percentile
from bench.sink import SinkProcess
from notifications_service.channels import Outgoing
from notifications_service.channels.email import EmailSender
from notifications_service.config import NotificationsSettings
from notifications_service.consumers import build_consumers
from notifications_service.main import MIGRATIONS
from notifications_service.workers import Dispatcher
from shared_kit.clock import system_clock
from shared_kit.crypto import RotatingCipher
from shared_kit.db import create_engine, create_session_factory
from shared_kit.events import CloudEvent
from shared_kit.events.kafka import ensure_topics, make_producer

EVENTS = 2_000
TARGET_PER_S = 200
TIMEOUT_S = 300.0
KIND = "reservation_approved"
APPROVED = "lv.datori.reservations.reservation.approved.v1"
SCHOOL, RIGA = "3113900001", "0010000"
WARM = "bench-warm"
PY_SPY = shutil.which("py-spy") or "/root/.local/bin/py-spy"


def person(i: int) -> str:
    """The benchmark's i-th person id."""
    return f"bench-{i}"


def address(i: int) -> str:
    """The benchmark's i-th address."""
    return f"bench-{i}@example.lv"


def approved(person_id: str) -> CloudEvent:
    """A reservation approved for `person_id`, as the reservations service publishes it."""
    reservation_id = str(uuid.uuid4())
    data: dict[str, Any] = {
        "reservation_id": reservation_id,
        "device_id": str(uuid.uuid4()),
        "municipality_code": RIGA,
        "institution_number": SCHOOL,
        "beneficiary": "learner",
        "learner_id": f"learner-{person_id}",
        "requested_by": person_id,
        "period_start": "2026-10-06T21:00:00+00:00",
        "period_end": "2027-06-29T21:00:00+00:00",
        "state": "approved",
        "reason": None,
        "priority_score": 20,
        "social_criteria": [],
        "requested_at": "2026-10-05T07:00:00+00:00",
        "pickup_deadline": "2026-10-12T21:00:00+00:00",
    }
    return CloudEvent(
        type=APPROVED,
        source="/datori/reservations",
        subject=reservation_id,
        data=data,
        municipality=RIGA,
    )


@dataclass(frozen=True)
class Wiring:
    """One run's database, broker, topics, group and sink."""

    url: str
    bootstrap: str
    suffix: str
    sink: SinkProcess

    def topic(self, round_: str) -> str:
        """The reservations topic of one round."""
        return f"reservations.events.{self.suffix}.{round_}"

    def group(self, round_: str) -> str:
        """The consumer group of one round."""
        return f"notifications.{self.suffix}.{round_}"

    def settings(self, round_: str) -> NotificationsSettings:
        """The service's settings for one round (defaults but for where things are)."""
        return NotificationsSettings(
            database_url=self.url,
            kafka_bootstrap_servers=self.bootstrap,
            reservations_topic=self.topic(round_),
            consumer_group=self.group(round_),
            smtp_port=self.sink.port,
            smtp_starttls="require",
            smtp_ca_file=self.sink.ca_file,
            run_background_workers=False,
        )

    def env(self, round_: str) -> dict[str, str]:
        """The service process's environment for one round (besides `service_env`'s)."""
        values = {
            "RESERVATIONS_TOPIC": self.topic(round_),
            "CONSUMER_GROUP": self.group(round_),
            "SMTP_PORT": str(self.sink.port),
            "SMTP_STARTTLS": "require",
            "SMTP_CA_FILE": self.sink.ca_file,
            "RUN_BACKGROUND_WORKERS": "true",
        }
        return {f"NOTIFICATIONS_{k}": v for k, v in values.items()}


async def add_people(engine: AsyncEngine, settings: NotificationsSettings) -> None:
    """One verified e-mail contact point per person (and one for the warm-up)."""
    cipher = RotatingCipher(settings.contact_key)
    people = [(person(i), address(i)) for i in range(EVENTS)] + [(WARM, "warm@example.lv")]
    rows = [
        {"id": uuid.uuid4(), "person": p, "address": cipher.encrypt(a).decode()} for p, a in people
    ]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO contact_point (id, person_id, channel, address_encrypted, "
                "verified_at) VALUES (:id, :person, 'email', :address, now())"
            ),
            rows,
        )


async def publish(settings: NotificationsSettings, events: list[CloudEvent]) -> dict[str, float]:
    """Send the events to the reservations topic as fast as the producer takes them; event id
    → when it was handed to the producer (epoch seconds)."""
    producer = make_producer(settings)
    await producer.start()
    try:
        published: dict[str, float] = {}
        acks = []
        for evt in events:
            published[evt.id] = time.time()
            headers = evt.kafka_headers()
            value, key = evt.kafka_value(), evt.subject.encode()
            topic = settings.reservations_topic
            acks.append(await producer.send(topic, value, key=key, headers=headers))
        await asyncio.gather(*acks)
        return published
    finally:
        await producer.stop()


async def outcomes(engine: AsyncEngine) -> dict[str, tuple[str, dt.datetime]]:
    """Message-ID → (its notice's cause, the notice's creation)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT d.id, n.cause, n.created_at FROM delivery d "
                "JOIN notice n ON n.id = d.notice_id"
            )
        )
        return {f"<{r[0]}@datori.localhost>": (r[1], r[2]) for r in rows.all()}


async def notices_made(engine: AsyncEngine, causes: list[str]) -> tuple[int, float]:
    """How many of these causes have a notice, and seconds from the first to the last."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT count(*), extract(epoch FROM max(created_at) - min(created_at)) "
                    "FROM notice WHERE cause = ANY(:causes)"
                ),
                {"causes": causes},
            )
        ).one()
    return int(row[0]), float(row[1] or 0.0)


@contextlib.asynccontextmanager
async def profiled(pid: int) -> AsyncIterator[None]:
    """py-spy records `pid` while the block runs, when BENCH_PROFILE is set."""
    if not os.environ.get("BENCH_PROFILE"):
        yield
        return
    out = results_dir() / "notifications-profile.txt"
    command = [PY_SPY, "record", "--pid", str(pid), "--format", "raw", "--rate", "250"]
    spy = await asyncio.create_subprocess_exec(*command, "--output", str(out), "--nonblocking")
    await asyncio.sleep(1.0)  # attached before the events go
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on an interrupt
        await asyncio.wait_for(spy.wait(), 30)


@dataclass(frozen=True)
class Run:
    """The service run: seconds from the first event published to the last message, the
    event → sink and event → notice lags (ms), and the service's CPU seconds."""

    seconds: float
    lags: list[float]
    notice_lags: list[float]
    cpu_s: float


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
        async with profiled(pid):
            cpu = cpu_seconds(pid) or 0.0
            published = await publish(settings, events)
            await wiring.sink.until(EVENTS, TIMEOUT_S)
            cpu = (cpu_seconds(pid) or 0.0) - cpu
    received = await wiring.sink.received()
    made = await outcomes(engine)
    first = min(published.values())
    lags, notice_lags = [], []
    for mid, at in received.items():
        cause, created = made[mid]
        if cause in published:
            lags.append((at.timestamp() - published[cause]) * 1000)
            notice_lags.append((created.timestamp() - published[cause]) * 1000)
    last = max(at.timestamp() for at in received.values())
    return Run(last - first, lags, notice_lags, cpu)


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


async def raw_sends(settings: NotificationsSettings) -> float:
    """Seconds for aiosmtplib to send the same messages at the same concurrency, each slot on
    one kept STARTTLS connection (as the service's sender keeps them)."""
    sender = EmailSender(settings)  # only to compose the same MIME message
    mails = [
        (address(i), sender.compose(Outgoing(f"raw-{i}", address(i), KIND, KIND, KIND)).as_bytes())
        for i in range(EVENTS)
    ]
    slots = settings.dispatch_concurrency

    async def slot(share: list[tuple[str, bytes]]) -> None:
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            start_tls=True,
            tls_context=sender.tls_context,
        )
        async with client:
            for to, data in share:
                await client.sendmail(sender.address, [to], data)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for i in range(slots):
            group.create_task(slot(mails[i::slots]))
    return time.perf_counter() - started


@dataclass(frozen=True)
class Figures:
    """Everything one benchmark run measured."""

    run: Run
    consumer: Alone
    dispatcher: Alone
    raw_s: float
    settings: NotificationsSettings


async def measure(infra: Infra, sink: SinkProcess) -> Figures:
    """The service run, the consumer and the dispatcher alone, and the raw baseline."""
    async with infra.fresh_database("bench_notifications", MIGRATIONS) as url:
        wiring = Wiring(url, infra.bootstrap, uuid.uuid4().hex[:8], sink)
        settings = wiring.settings("raw")
        engine = create_engine(url, pool_size=settings.db_pool_size)
        try:
            await add_people(engine, settings)
            run = await through_the_service(infra, wiring, engine)
            consumer = await consumer_alone(wiring, engine)
            dispatcher = await dispatcher_alone(wiring, engine)
        finally:
            await engine.dispose()
    await sink.clear()
    raw_s = await raw_sends(settings)
    assert await sink.count() == EVENTS
    return Figures(run, consumer, dispatcher, raw_s, settings)


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
        f"outcome); the service process {f.run.cpu_s * 1000 / EVENTS:.2f} ms per message",
    ]


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Events → e-mails through the service (target ≥ 200/s) beside raw aiosmtplib."""
    sink = await SinkProcess.start()
    try:
        figures = await measure(infra, sink)
    finally:
        await sink.stop()
    return rows_of(figures), notes_of(figures)
