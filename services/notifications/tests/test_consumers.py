"""The consumer through the real broker, with the dispatcher sending to a real SMTP server: an
event delivered twice, and again after a restart of the consumer, makes one notice and one
e-mail. Test events are built as their producers publish them and checked against the
committed contracts first."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from jsonschema import Draft202012Validator
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications_service.config import NotificationsSettings
from notifications_service.main import create_app
from shared_kit.events import CloudEvent
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.kafka import eventually, group_lag, publish
from shared_kit.testing.mailsink import MailSink

from .outbox import GUARDIAN, deliveries, notices, person
from .upstream import reservation_event

CONTRACTS = Path(__file__).parents[3] / "contracts"
EMAIL = "ilze@example.lv"


def checked(evt: CloudEvent) -> CloudEvent:
    """The event, after checking its data against the committed schema of its type."""
    schema = json.loads((CONTRACTS / "events" / f"{evt.type}.json").read_text())
    Draft202012Validator(schema).validate(evt.data)
    return evt


@asynccontextmanager
async def live(settings: NotificationsSettings, clock: TestClock) -> AsyncIterator[None]:
    """The service with its consumer, scheduler and dispatcher running, until the block ends."""
    running = settings.model_copy(update={"run_background_workers": True})
    async with running_app(create_app(running, clock)):
        yield


async def consumed(settings: NotificationsSettings) -> None:
    """The service's consumer group has committed past everything on the reservations topic."""

    async def caught_up() -> bool:
        lag = await group_lag(
            settings.kafka_bootstrap_servers, settings.consumer_group, settings.reservations_topic
        )
        return lag == 0

    await eventually(caught_up, timeout_s=30, interval_s=0.2)


async def inbox_rows(engine: AsyncEngine, event_id: str) -> int:
    """How many times the consumer recorded the event in its inbox."""
    async with engine.connect() as conn:
        sql = text("SELECT count(*) FROM inbox_message WHERE event_id = :id")
        return int((await conn.execute(sql, {"id": event_id})).scalar_one())


class TestRedelivery:
    async def test_an_event_delivered_twice_and_after_a_restart_is_one_notice_and_one_email(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, mail_settings, email=EMAIL, language="en")
        approved = checked(
            reservation_event(
                "approved",
                str(uuid.uuid4()),
                device_id=str(uuid.uuid4()),
                pickup_deadline="2026-10-12T21:00:00+00:00",
            )
        )
        topic = mail_settings.reservations_topic
        bootstrap = mail_settings.kafka_bootstrap_servers

        async with live(mail_settings, clock):
            await publish(bootstrap, topic, approved, approved)  # the same event id twice
            await consumed(mail_settings)
            await eventually(lambda: _sent(sink), timeout_s=30)

        async with live(mail_settings, clock):  # the consumer starts again, same group
            await publish(bootstrap, topic, approved)
            await consumed(mail_settings)
            await asyncio.sleep(1.5)  # three dispatcher polls: time to send a second one

        [notice] = await notices(engine)
        assert (notice.kind, notice.cause) == ("reservation_approved", approved.id)
        [delivery] = await deliveries(engine, GUARDIAN)
        assert (delivery["channel"], delivery["state"], delivery["attempts"]) == (
            "email",
            "sent",
            1,
        )
        [mail] = sink.to(EMAIL)
        assert mail.message["Subject"] == "Your reservation is approved"
        assert mail.message_id == f"<{delivery['id']}@datori.localhost>"
        assert await inbox_rows(engine, approved.id) == 1


async def _sent(sink: MailSink) -> bool:
    return bool(sink.to(EMAIL))
