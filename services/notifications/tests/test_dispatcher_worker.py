"""The dispatcher as the app runs it: woken by new deliveries, stopped cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from notifications_service.config import NotificationsSettings
from notifications_service.workers import Dispatcher
from shared_kit.db import create_engine, create_session_factory
from shared_kit.testing.clock import TestClock
from shared_kit.testing.mailsink import MailSink

from .outbox import deliveries, notify, person

EMAIL = "ilze@example.lv"


async def until(condition, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Poll until `condition()` holds (the sink keeps its messages in a list, no event)."""
    async with asyncio.timeout(timeout_s):
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


@pytest.fixture
async def sessions(
    settings: NotificationsSettings,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a pool as large as the app's (the slots hold a connection each)."""
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    yield create_session_factory(engine)
    await engine.dispose()


class TestWorker:
    async def test_a_new_notice_is_sent_without_waiting_for_the_poll(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock, sessions: async_sessionmaker[AsyncSession],
    ) -> None:  # fmt: skip
        settings = mail_settings.model_copy(update={"dispatch_poll_interval_s": 60})
        await person(engine, settings, email=EMAIL)
        worker = Dispatcher(sessions, settings, clock)
        task = asyncio.create_task(worker.run())
        try:
            await asyncio.sleep(0.2)  # idle, polling once a minute
            for _ in range(3):
                await notify(engine, settings, clock())

            async def all_arrived() -> bool:
                return len(sink.messages) == 3

            await until(all_arrived, 5)
        finally:
            await worker.stop()
            await asyncio.wait_for(task, 10)
        assert {r["state"] for r in await deliveries(engine)} == {"sent"}

    async def test_a_stop_hands_back_what_was_claimed_but_not_sent(
        self, engine: AsyncEngine, mail_settings: NotificationsSettings, sink: MailSink,
        clock: TestClock, sessions: async_sessionmaker[AsyncSession],
    ) -> None:  # fmt: skip
        settings = mail_settings.model_copy(update={"dispatch_concurrency": 1})
        await person(engine, settings, email=EMAIL)
        for _ in range(20):
            await notify(engine, settings, clock())
        worker = Dispatcher(sessions, settings, clock)
        task = asyncio.create_task(worker.run())

        async def some_sent() -> bool:
            return len(sink.messages) >= 2

        await until(some_sent)
        await worker.stop()
        await asyncio.wait_for(task, 10)
        states = [r["state"] for r in await deliveries(engine)]
        assert "sending" not in states  # nothing waits for a lease to run out
        assert states.count("sent") == len(sink.messages) < 20
        assert states.count("pending") == 20 - len(sink.messages)
