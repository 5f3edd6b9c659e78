"""The notifications service as a real uvicorn process, killed with SIGKILL while it sends a
few hundred e-mails to a real SMTP server, then started again: every message arrives.

SMTP has no idempotency: a message the server accepted just before the kill, but that the
dispatcher had not yet marked sent, goes again after the restart with the same Message-ID
(mail clients show it once). The claim/commit order bounds that set to the messages in flight,
at most `dispatch_concurrency`; the test measures it and prints the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications_service.config import NotificationsSettings
from shared_kit.clock import system_clock
from shared_kit.testing.infra import free_port
from shared_kit.testing.mailsink import MailSink

from .outbox import contact_many, many

PEOPLE = 300
START_TIMEOUT_S = 60.0
FINISH_TIMEOUT_S = 120.0
LEASE_S = 3.0


class Notifications:
    """The service under uvicorn in its own process group: start, SIGKILL, start again."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.port = env, log, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait until `/healthz` answers."""
        command = [sys.executable, "-m", "uvicorn", "notifications_service.main:create_app",
                   "--factory", "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            with contextlib.suppress(httpx.TransportError):
                url = f"http://127.0.0.1:{self.port}/healthz"
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        pytest.fail(f"the service did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL, no goodbye."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL when it takes too long)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def environment(settings: NotificationsSettings, sink: MailSink) -> dict[str, str]:
    """The process's settings: this test's database, broker, topics, JWKS and sink."""
    values = {
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "JWKS_URL": settings.jwks_url,
        "ENVIRONMENT": "test",
        "LOG_JSON": "false",
        "LOG_LEVEL": "WARNING",
        "RUN_BACKGROUND_WORKERS": "true",
        "CONSUMER_GROUP": settings.consumer_group,
        "EVENTS_TOPIC": settings.events_topic,
        "RESERVATIONS_TOPIC": settings.reservations_topic,
        "CONTRACTS_TOPIC": settings.contracts_topic,
        "TICKETS_TOPIC": settings.tickets_topic,
        "IDENTITY_TOPIC": settings.identity_topic,
        "SMTP_PORT": str(sink.port),
        "SMTP_STARTTLS": "require",
        "SMTP_CA_FILE": str(sink.ca_file),
        "DISPATCH_LEASE_S": str(LEASE_S),
        "DISPATCH_POLL_INTERVAL_S": "0.1",
    }
    return {**os.environ, **{f"NOTIFICATIONS_{k}": v for k, v in values.items()}}


async def states(engine: AsyncEngine) -> Counter[str]:
    """Deliveries per state."""
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT state, count(*) FROM delivery GROUP BY state"))
        return Counter({str(state): count for state, count in rows.all()})


async def sent_ids(engine: AsyncEngine) -> set[str]:
    """The Message-IDs of the deliveries marked sent."""
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id FROM delivery WHERE state = 'sent'"))
        return {f"<{row[0]}@datori.localhost>" for row in rows.all()}


async def test_sigkill_mid_batch_loses_nothing_and_resends_at_most_what_was_in_flight(
    engine: AsyncEngine,
    settings: NotificationsSettings,
    sink: MailSink,
    tmp_path: Path,
) -> None:
    await contact_many(engine, settings, PEOPLE)
    await many(engine, system_clock(), PEOPLE, "reservation_approved")
    service = Notifications(environment(settings, sink), tmp_path / "notifications.log")
    service.start()
    try:
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        while len(sink.messages) < PEOPLE // 4:  # sending, far from done
            assert time.monotonic() < deadline, "nothing was sent"
            await asyncio.sleep(0.005)
        service.kill()
        await asyncio.sleep(0.3)  # the sink finishes storing what it received before the kill
        before = await states(engine)
        arrived = {m.message_id for m in sink.messages}
        in_doubt = before["sending"]  # claimed by the dead process
        accepted_unmarked = len(arrived - await sent_ids(engine))
        assert 0 < len(arrived) < PEOPLE, "killed too late to be a drill"

        service.start()
        while (await states(engine))["sent"] < PEOPLE:
            assert time.monotonic() < deadline, await states(engine)
            await asyncio.sleep(0.1)
    finally:
        service.stop()

    received = Counter(m.message_id for m in sink.messages)
    duplicates = sum(received.values()) - len(received)
    print(
        f"\nSIGKILL drill: {PEOPLE} deliveries; at the kill {len(arrived)} had arrived, "
        f"{before['sent']} marked sent, {in_doubt} claimed (sending), {accepted_unmarked} "
        f"accepted but not marked; after the restart {len(received)} distinct Message-IDs, "
        f"{duplicates} sent twice"
    )
    assert len(received) == PEOPLE  # every message arrived
    assert await states(engine) == Counter({"sent": PEOPLE})
    assert duplicates == accepted_unmarked <= settings.dispatch_concurrency
    assert duplicates <= in_doubt
