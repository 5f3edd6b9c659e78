"""Benchmark: notices through fan-out and the dispatcher to a real SMTP server (the MailSink,
STARTTLS), beside raw aiosmtplib sends of the same messages to the same sink.

2,000 people with a verified e-mail address each get one notice, written in transactions of
50 with its fan-out (as a consumer would) while the dispatcher runs with the service's
settings. Throughput: messages accepted by the sink per second, from the first notice to the
last message. Lag: from a notice's creation to the sink accepting its e-mail (a burst, so it
includes the queue). The raw baseline sends the same composed messages with aiosmtplib at the
same concurrency, each slot on a connection it keeps, as the service's sender does. The sink
runs in a process of its own, as in the local stack.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
import uuid
from asyncio.subprocess import PIPE
from email.message import EmailMessage
from typing import Any

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

NOTICES = 2_000
PER_TRANSACTION = 50
TARGET_PER_S = 200
TIMEOUT_S = 300.0
KIND = "reservation_approved"


SINK = """
import json, sys
from shared_kit.testing.mailsink import MailSink
sink = MailSink().start()
print(json.dumps({"port": sink.port, "ca_file": sink.ca_file}), flush=True)
for line in sys.stdin:
    if line.strip() == "count":
        print(len(sink.messages), flush=True)
    elif line.strip() == "dump":
        received = [[m.message_id, m.received_at.isoformat()] for m in sink.messages]
        print(json.dumps(received), flush=True)
    elif line.strip() == "clear":
        sink.clear()
        print("true", flush=True)
sink.stop()
"""


class SinkProcess:
    """The MailSink in a process of its own (as in the local stack), asked over a pipe."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, ca_file: str) -> None:
        self.process, self.port, self.ca_file = process, port, ca_file

    @classmethod
    async def start(cls) -> SinkProcess:
        """Start it and read its port and certificate."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SINK, stdin=PIPE, stdout=PIPE, limit=2**24
        )
        hello = json.loads(await cls._line(process))
        return cls(process, hello["port"], hello["ca_file"])

    @staticmethod
    async def _line(process: asyncio.subprocess.Process) -> bytes:
        assert process.stdout is not None
        return await process.stdout.readline()

    async def ask(self, command: str) -> Any:
        """Send a command; its JSON answer."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()
        return json.loads(await self._line(self.process))

    async def count(self) -> int:
        """How many messages it accepted."""
        return int(await self.ask("count"))

    async def received(self) -> dict[str, dt.datetime]:
        """Message-ID → when it was accepted (a resent id: its last time)."""
        return {mid: dt.datetime.fromisoformat(at) for mid, at in await self.ask("dump")}

    async def stop(self) -> None:
        """Close its input: it stops."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


def settings_for(url: str, sink: SinkProcess) -> NotificationsSettings:
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
    url: str, sink: SinkProcess
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
            while await sink.count() < NOTICES:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        seconds = time.perf_counter() - started
        await dispatcher.stop()
        await asyncio.wait_for(task, 30)
        made = await created_at(engine)
    finally:
        await engine.dispose()
    received = await sink.received()
    lags = [(at - made[mid]).total_seconds() * 1000 for mid, at in received.items()]
    return seconds, lags, settings


async def raw_sends(settings: NotificationsSettings) -> float:
    """Seconds for aiosmtplib to send the same messages at the same concurrency, each slot on
    one kept STARTTLS connection (as the service's sender keeps them)."""
    sender = EmailSender(settings)  # only to compose the same MIME message
    mails = [
        sender.compose(Outgoing(f"raw-{i}", address(i), KIND, KIND, f"<p>{KIND}</p>"))
        for i in range(NOTICES)
    ]
    slots = settings.dispatch_concurrency

    async def slot(share: list[EmailMessage]) -> None:
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            start_tls=True,
            tls_context=sender.tls_context,
        )
        async with client:
            for mail in share:
                await client.send_message(mail)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for i in range(slots):
            group.create_task(slot(mails[i::slots]))
    return time.perf_counter() - started


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Messages/s through fan-out and the dispatcher (target ≥ 200/s) beside raw aiosmtplib."""
    sink = await SinkProcess.start()
    try:
        async with infra.fresh_database("bench_notifications", MIGRATIONS) as url:
            cpu = time.process_time()
            seconds, lags, settings = await through_the_service(url, sink)
            cpu_ms = (time.process_time() - cpu) * 1000 / NOTICES
        await sink.ask("clear")
        cpu = time.process_time()
        raw_s = await raw_sends(settings)
        raw_cpu_ms = (time.process_time() - cpu) * 1000 / NOTICES
        assert await sink.count() == NOTICES
    finally:
        await sink.stop()
    rate, raw_rate = NOTICES / seconds, NOTICES / raw_s
    rows = [
        Row(
            f"Notifications: {NOTICES:,} notices → e-mails accepted by the sink",
            rate,
            "messages/s",
            f"≥ {TARGET_PER_S}",
            rate >= TARGET_PER_S,
            baseline=raw_rate,
            baseline_name="raw aiosmtplib, same messages, concurrency, kept connections",
        ),
        Row("Notifications: notice → sink lag p50 (burst)", percentile(lags, 50), "ms"),
        Row("Notifications: notice → sink lag p99 (burst)", percentile(lags, 99), "ms"),
    ]
    notes = [
        f"notifications: {seconds:.2f} s through the service, {raw_s:.2f} s raw; STARTTLS, "
        f"concurrency {settings.dispatch_concurrency}, batches of "
        f"{settings.dispatch_batch_size}; the lag of a burst includes its wait in the queue; "
        f"CPU of this process {cpu_ms:.2f} ms per message through the service (fan-out, "
        f"dispatch, composing, SMTP), {raw_cpu_ms:.2f} ms raw (composed beforehand)"
    ]
    return rows, notes
