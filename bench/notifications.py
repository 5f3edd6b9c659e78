"""Benchmark: notices through fan-out and the dispatcher to a real SMTP server (the MailSink,
STARTTLS), beside raw aiosmtplib sends of the same messages to the same sink.

2,000 people with a verified e-mail address each get one notice, written in transactions of
50 with its fan-out (as a consumer would) while the dispatcher runs with the service's
settings. Throughput: messages accepted by the sink per second, from the first notice to the
last message. Lag: from a notice's creation to the sink accepting its e-mail (a burst, so it
includes the queue). The raw baseline sends the same composed messages with aiosmtplib at the
same concurrency, one connection per message as the service's sender does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

import aiosmtplib
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.infra import Infra
from bench.report import Row
from bench.search import percentile
from notifications_service.channels import Outgoing
from notifications_service.channels.email import EmailSender
from notifications_service.config import NotificationsSettings
from notifications_service.main import MIGRATIONS
from notifications_service.models import Notice
from notifications_service.service import fanout
from notifications_service.service.quiet import QuietHours
from notifications_service.workers import Dispatcher
from shared_kit.clock import system_clock
from shared_kit.crypto import RotatingCipher
from shared_kit.db import create_engine, create_session_factory
from shared_kit.testing.mailsink import MailSink

NOTICES = 2_000
PER_TRANSACTION = 50
TARGET_PER_S = 200
TIMEOUT_S = 300.0
KIND = "reservation_approved"


def settings_for(url: str, sink: MailSink) -> NotificationsSettings:
    """The service's settings, pointed at the benchmark's database and sink."""
    return NotificationsSettings(
        database_url=url,
        smtp_port=sink.port,
        smtp_starttls="require",
        smtp_ca_file=sink.ca_file,
        run_background_workers=False,
    )


async def add_people(engine: AsyncEngine, settings: NotificationsSettings) -> None:
    """One verified e-mail contact point per person."""
    cipher = RotatingCipher(settings.contact_key)
    rows = [
        {"id": uuid.uuid4(), "person": f"bench-{i}", "address": cipher.encrypt(address(i)).decode()}
        for i in range(NOTICES)
    ]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO contact_point (id, person_id, channel, address_encrypted, "
                "verified_at) VALUES (:id, :person, 'email', :address, now())"
            ),
            rows,
        )


def address(i: int) -> str:
    """The benchmark's i-th address."""
    return f"bench-{i}@example.lv"


async def add_notices(
    sessions: async_sessionmaker[AsyncSession], settings: NotificationsSettings
) -> None:
    """The notices and their fan-out, a few per transaction, stamped as they are written."""
    quiet = QuietHours(settings.timezone, 0, 0)  # the e-mail benchmark ignores the hour
    for start in range(0, NOTICES, PER_TRANSACTION):
        async with sessions.begin() as session:
            now = system_clock()
            for i in range(start, start + PER_TRANSACTION):
                notice = Notice(
                    id=uuid.uuid4(),
                    person_id=f"bench-{i}",
                    kind=KIND,
                    cause=f"bench:{i}",
                    params={"number": i},
                    created_at=now,
                )
                session.add(notice)
                await session.flush()
                await fanout.plan(session, notice, now=now, quiet=quiet)


async def created_at(engine: AsyncEngine) -> dict[str, dt.datetime]:
    """Message-ID → its notice's creation time."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT d.id, n.created_at FROM delivery d JOIN notice n ON n.id = d.notice_id")
        )
        return {f"<{r[0]}@datori.localhost>": r[1] for r in rows.all()}


async def through_the_service(
    url: str, sink: MailSink
) -> tuple[float, list[float], NotificationsSettings]:
    """Seconds from the first notice to the last message, and each message's lag (ms)."""
    settings = settings_for(url, sink)
    engine = create_engine(url, pool_size=settings.db_pool_size)
    try:
        sessions = create_session_factory(engine)
        await add_people(engine, settings)
        dispatcher = Dispatcher(sessions, settings, system_clock)
        task = asyncio.create_task(dispatcher.run())
        started = time.perf_counter()
        await add_notices(sessions, settings)
        async with asyncio.timeout(TIMEOUT_S):
            while len(sink.messages) < NOTICES:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
        await dispatcher.stop()
        await asyncio.wait_for(task, 30)
        made = await created_at(engine)
    finally:
        await engine.dispose()
    lags = [(m.received_at - made[m.message_id]).total_seconds() * 1000 for m in sink.messages]
    return seconds, lags, settings


async def raw_sends(sink: MailSink, settings: NotificationsSettings) -> float:
    """Seconds for aiosmtplib to send the same messages at the same concurrency."""
    sender = EmailSender(settings)  # only to compose the same MIME message
    mails = [
        sender.compose(Outgoing(f"raw-{i}", address(i), KIND, KIND, f"<p>{KIND}</p>"))
        for i in range(NOTICES)
    ]
    slots = asyncio.Semaphore(settings.dispatch_concurrency)

    async def send(mail: object) -> None:
        async with slots:
            await aiosmtplib.send(
                mail,  # type: ignore[arg-type]
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                start_tls=True,
                tls_context=sender.tls_context,
            )

    started = time.perf_counter()
    await asyncio.gather(*(send(mail) for mail in mails))
    return time.perf_counter() - started


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Messages/s through fan-out and the dispatcher (target ≥ 200/s) beside raw aiosmtplib."""
    sink = MailSink().start()
    try:
        async with infra.fresh_database("bench_notifications", MIGRATIONS) as url:
            seconds, lags, settings = await through_the_service(url, sink)
        sink.clear()
        raw_s = await raw_sends(sink, settings)
        assert len(sink.messages) == NOTICES
    finally:
        sink.stop()
    rate, raw_rate = NOTICES / seconds, NOTICES / raw_s
    rows = [
        Row(
            f"Notifications: {NOTICES:,} notices → e-mails accepted by the sink",
            rate,
            "messages/s",
            f"≥ {TARGET_PER_S}",
            rate >= TARGET_PER_S,
            baseline=raw_rate,
            baseline_name="raw aiosmtplib sends, same messages and concurrency",
        ),
        Row("Notifications: notice → sink lag p50 (burst)", percentile(lags, 50), "ms"),
        Row("Notifications: notice → sink lag p99 (burst)", percentile(lags, 99), "ms"),
    ]
    notes = [
        f"notifications: {seconds:.2f} s through the service, {raw_s:.2f} s raw; STARTTLS, one "
        f"connection per message, concurrency {settings.dispatch_concurrency}, batches of "
        f"{settings.dispatch_batch_size}; the lag of a burst includes its wait in the queue"
    ]
    return rows, notes
