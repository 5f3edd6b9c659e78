"""The dispatcher's work: taking deliveries out of this service's outbox and sending them.

A claim takes due deliveries (`FOR UPDATE SKIP LOCKED`, marked `sending` with a lease) and
commits the claim, so replicas share the work and a dead replica's claims come back when their
lease runs out. Each message is then sent with bounded concurrency and its outcome committed
at once, so after a crash at most `dispatch_concurrency` messages are in doubt: accepted by
the provider but not yet marked sent. Those are sent again with the same reference (the
e-mail's Message-ID, the SMS provider's idempotency reference).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections import Counter as Tally
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from notifications_service import messages
from notifications_service.channels import Outgoing, PermanentFailure, Sender, TemporaryFailure
from notifications_service.config import NotificationsSettings
from notifications_service.kinds import Channel
from notifications_service.repository.deliveries import DeliveryRepository, Job
from notifications_service.service.dispatch import backoff, obstacle, scrub
from notifications_service.service.quiet import QuietHours
from shared_kit.clock import Clock
from shared_kit.crypto import RotatingCipher

logger = logging.getLogger(__name__)

SENT = Counter("notifications_deliveries_sent_total", "Messages a provider accepted", ["channel"])
FAILED = Counter("notifications_deliveries_failed_total", "Deliveries given up", ["channel"])
RETRIED = Counter("notifications_deliveries_retried_total", "Temporary failures", ["channel"])
CANCELLED = Counter("notifications_deliveries_cancelled_total", "Deliveries dropped", ["channel"])
LAG = Histogram(
    "notifications_delivery_lag_seconds",
    "From the notice's creation to the provider's acceptance",
    ["channel"],
    buckets=(0.5, 1, 2, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600),
)
REJECTED_KIND = "contact_point_rejected"
CONTACTS = "/settings/contact"  # the portal's page where the person changes the address
MAX_REMEMBERED = 10_000
# One outcome written through the repository; False when the delivery was not ours any more.
_Change = Callable[[DeliveryRepository], Awaitable[bool]]


@dataclass
class PassReport:
    """What one pass did: how many it claimed, and each outcome's count."""

    claimed: int = 0
    outcomes: Tally[str] = field(default_factory=Tally)


class Dispatch:
    """Claims and sends deliveries: the settings, senders, clock and the contact points it saw
    refused (the worker in `workers` keeps one for its life; tests drive `run_pass`)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: NotificationsSettings,
        senders: Mapping[Channel, Sender],
        clock: Clock,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self.sessions, self.settings, self.senders, self.clock = sessions, settings, senders, clock
        self.engine: AsyncEngine = sessions.kw["bind"]
        self.cipher = RotatingCipher(settings.contact_key)
        self.quiet = QuietHours.of(settings)
        self.stopping = stopping or asyncio.Event()
        # Addresses (as stored) refused since their jobs were loaded; a changed address is
        # stored anew, so it is not among them.
        self.rejected: set[str] = set()
        self.rng = random.Random()

    async def claim(self) -> list[Job]:
        """Claim up to a batch of due deliveries and commit the claim; what sending needs."""
        now = self.clock()
        lease = now + dt.timedelta(seconds=self.settings.dispatch_lease_s)
        async with self.sessions.begin() as session:
            repo = DeliveryRepository(session)
            claimed = await repo.claim(now, lease, self.settings.dispatch_batch_size)
            return await repo.jobs(claimed)

    @contextlib.asynccontextmanager
    async def writer(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one slot's outcomes: one autocommitted statement each, so no pool
        checkout, BEGIN or COMMIT per message."""
        async with self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    async def run_pass(self) -> PassReport:
        """Claim a batch, send each message and commit each outcome; return when all are done
        (the worker overlaps passes; tests drive this one)."""
        jobs = await self.claim()
        report = PassReport(claimed=len(jobs))
        queue = iter(jobs)  # shared by the slots: each job is taken by one

        async def slot() -> None:
            async with self.writer() as db:
                for job in queue:
                    report.outcomes[await self.deliver(job, db)] += 1

        async with asyncio.TaskGroup() as group:
            for _ in range(min(self.settings.dispatch_concurrency, len(jobs))):
                group.create_task(slot())
        return report

    async def deliver(self, job: Job, db: AsyncConnection) -> str:
        """Send one claimed delivery, or put it back, cancel or fail it; the outcome's name."""
        now = self.clock()
        if self.stopping.is_set():  # a shutdown: hand it back now rather than after the lease
            return await self._settle("released", lambda r: r.wait(job.id, now), db)
        reason = obstacle(job)
        if reason is None and job.address_encrypted in self.rejected:
            reason = "the contact point was refused"
        if reason is not None:
            why: str = reason
            CANCELLED.labels(job.channel.value).inc()
            return await self._settle("cancelled", lambda r: r.cancel(job.id, why), db)
        quiet_end = self.quiet.until(now) if job.channel is Channel.SMS else None
        if quiet_end is not None:
            until: dt.datetime = quiet_end
            return await self._settle("waiting", lambda r: r.wait(job.id, until), db)
        return await self._send(job, db)

    async def _send(self, job: Job, db: AsyncConnection) -> str:
        attempts = job.attempts + 1
        address: str | None = None
        try:
            assert job.address_encrypted is not None
            address = self.cipher.decrypt(job.address_encrypted)
            outgoing = self._compose(job, address)
        except Exception as exc:  # a template that cannot be written for these params
            logger.exception("delivery %s: cannot be written", job.id)
            error = f"cannot write: {scrub(exc, address)}"
            return await self._failed(job, attempts, error, db)
        try:
            await self.senders[job.channel].send(outgoing)
        except PermanentFailure as exc:
            return await self._refused(job, attempts, scrub(exc, address))
        except Exception as exc:  # TemporaryFailure, and whatever else a provider throws
            error = scrub(exc, address)
            if not isinstance(exc, TemporaryFailure):  # no traceback: it may hold the address
                logger.error("delivery %s: unexpected %s: %s", job.id, type(exc).__name__, error)
            return await self._temporary(job, attempts, error, db)
        now = self.clock()
        SENT.labels(job.channel.value).inc()
        LAG.labels(job.channel.value).observe(max((now - job.notice_created_at).total_seconds(), 0))
        return await self._settle("sent", lambda r: r.sent(job.id, attempts, now), db)

    def _compose(self, job: Job, address: str) -> Outgoing:
        text = messages.render(
            job.kind, job.params, job.language, portal_url=self.settings.portal_url, link=job.link
        )
        sms = job.channel is Channel.SMS
        return Outgoing(
            reference=str(job.id),
            to=address,
            subject=text.subject,
            text=text.short if sms else text.text,
            html=None if sms else text.html,
            language=job.language,
        )

    async def _temporary(self, job: Job, attempts: int, error: str, db: AsyncConnection) -> str:
        if attempts >= self.settings.dispatch_max_attempts:
            return await self._failed(job, attempts, error, db)
        RETRIED.labels(job.channel.value).inc()
        at = self.clock() + backoff(attempts, self.settings, self.rng)
        logger.info("delivery %s: attempt %d failed, again at %s", job.id, attempts, at)
        return await self._settle("retried", lambda r: r.retry(job.id, attempts, at, error), db)

    async def _failed(self, job: Job, attempts: int, error: str, db: AsyncConnection) -> str:
        FAILED.labels(job.channel.value).inc()
        logger.warning("delivery %s: failed after %d attempts", job.id, attempts)
        return await self._settle("failed", lambda r: r.fail(job.id, attempts, error), db)

    async def _refused(self, job: Job, attempts: int, error: str) -> str:
        """Refused for good: fail it, mark the contact point and tell the person in-portal."""
        FAILED.labels(job.channel.value).inc()
        assert job.contact_point_id is not None and job.address_encrypted is not None
        contact_point_id = job.contact_point_id
        if len(self.rejected) >= MAX_REMEMBERED:
            self.rejected.clear()  # they are marked in the database; this only saves sends
        self.rejected.add(job.address_encrypted)
        now = self.clock()
        async with self.sessions.begin() as session:
            repo = DeliveryRepository(session)
            await repo.fail(job.id, attempts, error)
            rejected_at = await repo.reject_contact_point(contact_point_id, now, error)
            if rejected_at is not None:  # the first refusal of this address tells the person
                await repo.cancel_pending(
                    job.person_id, job.channel, "the contact point was refused"
                )
                cause = f"rejected:{contact_point_id}:{rejected_at.isoformat()}"
                params = {"channel": job.channel.value}
                await repo.add_notice(job.person_id, REJECTED_KIND, cause, params, now, CONTACTS)
        logger.warning(
            "delivery %s: refused for good; contact point %s marked", job.id, contact_point_id
        )
        return "failed"

    async def _settle(self, outcome: str, change: _Change, db: AsyncConnection) -> str:
        if not await change(DeliveryRepository(db)):
            logger.warning("a delivery was taken over by another dispatcher (lease ran out)")
        return outcome
