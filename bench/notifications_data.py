"""The notifications benchmark's people, events and service wiring: verified e-mail contact
points written into the service's tables, `reservation.approved` events as the reservations
service publishes them, and what the service made of them, read back from its database."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.sink import SinkProcess
from notifications_service.config import NotificationsSettings
from shared_kit.crypto import RotatingCipher
from shared_kit.events import CloudEvent
from shared_kit.events.kafka import make_producer

APPROVED = "lv.datori.reservations.reservation.approved.v1"
SCHOOL, RIGA = "3113900001", "0010000"
WARM = "bench-warm"


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


async def add_people(engine: AsyncEngine, settings: NotificationsSettings, count: int) -> None:
    """One verified e-mail contact point for each of `count` people (and the warm-up's)."""
    cipher = RotatingCipher(settings.contact_key)
    people = [(person(i), address(i)) for i in range(count)] + [(WARM, "warm@example.lv")]
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


async def publish(
    settings: NotificationsSettings, events: list[CloudEvent], per_s: float | None = None
) -> dict[str, float]:
    """Send the events to the reservations topic as fast as the producer takes them (or
    `per_s` a second); event id → when it was handed to the producer (epoch seconds)."""
    producer = make_producer(settings)
    await producer.start()
    try:
        published: dict[str, float] = {}
        acks = []
        start = time.monotonic()
        for i, evt in enumerate(events):
            if per_s:
                await asyncio.sleep(max(0.0, start + i / per_s - time.monotonic()))
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
