"""Notifications test fixtures: a fresh migrated database per test, the real broker, real
tokens, and a clock the tests move."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications_service.config import NotificationsSettings
from notifications_service.main import MIGRATIONS, create_app
from shared_kit.db import create_engine
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.mailsink import MailSink

API = "/api/v1/notifications"
START = dt.datetime(2026, 10, 5, 7, 0, tzinfo=dt.UTC)  # a Monday morning in Riga


@pytest.fixture
def clock() -> TestClock:
    """This test's clock: starts at START and moves only when told."""
    return TestClock(START)


@pytest.fixture
async def settings(service_settings: Callable[..., Awaitable[Any]]) -> NotificationsSettings:
    """Settings bound to this test's database, topics and the test JWKS."""
    settings: NotificationsSettings = await service_settings(NotificationsSettings, MIGRATIONS)
    return settings


@pytest.fixture
def app(settings: NotificationsSettings, clock: TestClock) -> FastAPI:
    """The notifications app of this test."""
    return create_app(settings, clock)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Client of a running notifications app (no background workers)."""
    async with running_app(app) as c:
        yield c


@pytest.fixture
async def engine(settings: NotificationsSettings) -> AsyncIterator[AsyncEngine]:
    """An engine on this test's database, for asserting in SQL (and for dispatcher passes run
    side by side, whose slots each hold a connection: four, as the pool always allowed)."""
    engine = create_engine(settings.database_url, pool_size=4)
    yield engine
    await engine.dispose()


@pytest.fixture
def sink() -> Iterator[MailSink]:
    """A real SMTP server (STARTTLS) of this test; what it accepted is in `sink.messages`."""
    sink = MailSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def mail_settings(settings: NotificationsSettings, sink: MailSink) -> NotificationsSettings:
    """This test's settings sending e-mail to the sink over required STARTTLS."""
    return settings.model_copy(
        update={"smtp_port": sink.port, "smtp_starttls": "require", "smtp_ca_file": sink.ca_file}
    )
