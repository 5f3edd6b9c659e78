"""SMS through the provider stand-in (real HTTP): quiet hours kept, refusals marked, outages
ridden out, and a resend with the same reference sent once."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications_service.config import NotificationsSettings
from notifications_service.kinds import Channel
from shared_kit.testing.client import serving
from shared_kit.testing.clock import TestClock
from shared_kit.testing.mailsink import MailSink

from .outbox import contact_point, deliveries, notices, notify, one_pass, person

REPO = Path(__file__).resolve().parents[3]
EMAIL, PHONE = "ilze@example.lv", "+37129000001"  # invented
UNREACHABLE = "+37120000042"  # the stand-in cannot reach +371200000xx
RIGA_EVENING = dt.datetime(2026, 10, 5, 19, 30, tzinfo=dt.UTC)  # 22:30 in Riga
RIGA_MORNING = dt.datetime(2026, 10, 6, 5, 0, tzinfo=dt.UTC)  # 08:00 in Riga


def _standin() -> ModuleType:
    """The stand-in module of deploy/dev, imported from its file."""
    name = "sms_standin"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "deploy/dev/sms_standin.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
async def provider() -> AsyncIterator[httpx.AsyncClient]:
    """The SMS stand-in on a loopback port; a client of its test endpoints."""
    async with (
        serving(_standin().create_app("test-sms-key")) as url,
        httpx.AsyncClient(base_url=url, timeout=5) as client,
    ):
        yield client


@pytest.fixture
def sms_settings(
    mail_settings: NotificationsSettings, provider: httpx.AsyncClient
) -> NotificationsSettings:
    """E-mail to the sink, SMS to the stand-in."""
    return mail_settings.model_copy(
        update={
            "sms_url": f"{str(provider.base_url).rstrip('/')}/api/v1/messages",
            "sms_api_key": SecretStr("test-sms-key"),
            "sms_timeout_s": 5,
        }
    )


async def texts(provider: httpx.AsyncClient) -> list[dict[str, Any]]:
    """What the provider sent."""
    body = (await provider.get("/api/v1/messages")).json()
    return list(body if isinstance(body, list) else body["items"])


class TestQuietHours:
    async def test_an_sms_at_half_past_ten_waits_until_eight_and_e_mail_goes_at_once(
        self, engine: AsyncEngine, sms_settings: NotificationsSettings, sink: MailSink,
        provider: httpx.AsyncClient, clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, sms_settings, email=EMAIL, sms=PHONE)
        clock.set(RIGA_EVENING)
        await notify(engine, sms_settings, clock(), "reservation_offered")
        assert (await one_pass(engine, sms_settings, clock)).outcomes == {"sent": 1}
        assert len(sink.to(EMAIL)) == 1 and await texts(provider) == []
        clock.set(RIGA_MORNING - dt.timedelta(seconds=1))
        assert (await one_pass(engine, sms_settings, clock)).claimed == 0
        clock.set(RIGA_MORNING)
        assert (await one_pass(engine, sms_settings, clock)).outcomes == {"sent": 1}
        [sent] = await texts(provider)
        assert sent["to"] == PHONE

    async def test_an_sms_that_fell_due_by_day_but_is_sent_at_night_waits(
        self, engine: AsyncEngine, sms_settings: NotificationsSettings, sink: MailSink,
        provider: httpx.AsyncClient, clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, sms_settings, sms=PHONE)
        clock.set(RIGA_EVENING - dt.timedelta(hours=3))  # 19:30: planned to go at once
        await notify(engine, sms_settings, clock(), "reservation_offered")
        clock.set(RIGA_EVENING)  # the dispatcher gets to it only at 22:30
        assert (await one_pass(engine, sms_settings, clock)).outcomes == {"waiting": 1}
        [row] = await deliveries(engine)
        assert (row["state"], row["attempts"], row["next_attempt_at"]) == (
            "pending", 0, RIGA_MORNING
        )  # fmt: skip
        assert await texts(provider) == []


class TestProvider:
    async def test_an_unreachable_number_is_marked_and_the_person_told(
        self, engine: AsyncEngine, sms_settings: NotificationsSettings, sink: MailSink,
        provider: httpx.AsyncClient, clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, sms_settings, email=EMAIL, sms=UNREACHABLE)
        await notify(engine, sms_settings, clock(), "reservation_offered")
        assert (await one_pass(engine, sms_settings, clock)).outcomes == {"sent": 1, "failed": 1}
        point = await contact_point(engine, Channel.SMS)
        assert point.rejected_at == clock.now and UNREACHABLE not in point.rejected_reason
        assert (await contact_point(engine, Channel.EMAIL)).rejected_at is None
        assert [n.kind for n in await notices(engine)].count("contact_point_rejected") == 1

    async def test_an_outage_only_delays_and_the_message_is_sent_once(
        self, engine: AsyncEngine, sms_settings: NotificationsSettings, sink: MailSink,
        provider: httpx.AsyncClient, clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, sms_settings, sms=PHONE)
        await notify(engine, sms_settings, clock(), "reservation_offered")
        await provider.post("/api/v1/outage", json={"down": True})
        assert (await one_pass(engine, sms_settings, clock)).outcomes == {"retried": 1}
        await provider.post("/api/v1/outage", json={"down": False})
        clock.advance(seconds=sms_settings.retry_base_s)
        assert (await one_pass(engine, sms_settings, clock)).outcomes == {"sent": 1}
        [row] = await deliveries(engine)
        [sent] = await texts(provider)
        assert sent["reference"] == str(row["id"])
