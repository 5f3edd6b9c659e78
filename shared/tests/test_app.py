"""The app factory: every service gets the same middleware, problems, ops routes and workers."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import weakref
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.app import YOUNG_THRESHOLD, ConsumerFactory, ServiceApp, settle_heap
from shared_kit.auth import JWKSVerifier
from shared_kit.events import CloudEvent, add_event
from shared_kit.events.consumer import ConsumerRunner
from shared_kit.events.outbox import outbox_topic
from shared_kit.problems import NotFound
from shared_kit.settings import ServiceSettings
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import problem
from shared_kit.testing.kafka import events_of, read_topic

KitApp = Callable[..., ServiceApp]
WORKERS = {"housekeeping", "outbox-relay", "consumer-idle"}


def failing_router() -> APIRouter:
    router = APIRouter()

    @router.get("/missing")
    async def missing() -> None:
        raise NotFound("No such thing")

    @router.get("/bug")
    async def bug() -> None:
        raise RuntimeError("secret internals")

    return router


class IdleConsumer(ConsumerRunner):
    """A consumer that only waits to be stopped."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings
    ) -> None:
        super().__init__(
            name="idle", topics=[], handlers={}, session_factory=sessions, settings=settings
        )
        self.ran = False
        self.stopped = asyncio.Event()

    async def run(self) -> None:
        self.ran = True
        await self.stopped.wait()

    async def stop(self) -> None:
        self.stopped.set()


def idle_consumers(made: list[IdleConsumer]) -> ConsumerFactory:
    """A consumer factory that keeps what it built."""

    def build(
        sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings
    ) -> list[ConsumerRunner]:
        made.append(IdleConsumer(sessions, settings))
        return list(made)

    return build


class TestWhatEveryServiceGets:
    async def test_ops_routes_docs_and_the_dead_letter_api(self, kit_app: KitApp) -> None:
        async with running_app(kit_app()) as client:
            for path in ("/healthz", "/metrics", "/docs"):
                assert (await client.get(path)).status_code == 200, path
            letters = await client.get("/api/v1/kit/ops/dead-letters")
        problem(letters, 401, "unauthorized")  # there, for platform admins only

    async def test_a_service_without_a_broker_has_no_dead_letter_api(self, kit_app: KitApp) -> None:
        async with running_app(kit_app(broker=False)) as client:
            assert (await client.get("/healthz")).status_code == 200
            letters = await client.get("/api/v1/kit/ops/dead-letters")
        assert letters.status_code == 404

    async def test_errors_leave_as_problems_with_the_security_headers(
        self, kit_app: KitApp
    ) -> None:
        async with running_app(kit_app(failing_router())) as client:
            responses = [
                problem(await client.get("/missing"), 404, "not-found"),
                problem(await client.get("/bug"), 500, "internal"),
            ]
            unknown = await client.get("/nowhere")
            bug = await client.get("/bug")
        assert "secret" not in str(responses)
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
        assert bug.headers["X-Content-Type-Options"] == "nosniff"
        assert bug.headers["Content-Security-Policy"].startswith("default-src 'none'")

    async def test_each_response_carries_a_correlation_id(self, kit_app: KitApp) -> None:
        async with running_app(kit_app()) as client:
            given = await client.get("/healthz", headers={"X-Correlation-ID": "abc-123"})
            made = await client.get("/healthz")
        assert given.headers["x-correlation-id"] == "abc-123"
        assert len(made.headers["x-correlation-id"]) == 36

    async def test_the_spec_lands_on_the_app_state(
        self, kit_app: KitApp, kit_settings: ServiceSettings, demo_migrations: Path
    ) -> None:
        clock = TestClock(dt.datetime(2026, 9, 1, tzinfo=dt.UTC))
        app = kit_app(migrations=demo_migrations, clock=clock)
        state = app.state
        assert (state.settings, state.clock) == (kit_settings, clock)
        assert state.migrations_head == "0002" and state.migrations_known == {"0001", "0002"}
        async with running_app(app), state.sessions() as session:
            assert isinstance(state.verifier, JWKSVerifier)
            assert outbox_topic(session) == kit_settings.events_topic


class TestWorkers:
    @pytest.fixture
    def settings(
        self, kit_settings: ServiceSettings, kafka_bootstrap: str, unique: str
    ) -> ServiceSettings:
        return kit_settings.model_copy(
            update={
                "run_background_workers": True,
                "kafka_bootstrap_servers": kafka_bootstrap,
                "events_topic": f"kit.app.{unique}",
            }
        )

    async def test_they_run_with_the_app_and_stop_with_it(
        self, kit_app: KitApp, settings: ServiceSettings
    ) -> None:
        consumers: list[IdleConsumer] = []
        app = kit_app(settings=settings, consumers=idle_consumers(consumers))
        before = asyncio.all_tasks()
        async with running_app(app):
            workers = [t for t in asyncio.all_tasks() - before if t.get_name() in WORKERS]
            assert {t.get_name() for t in workers} == WORKERS
            assert not any(t.done() for t in workers)
        assert all(t.done() for t in workers)
        assert consumers[0].ran and consumers[0].stopped.is_set()

    async def test_the_relay_publishes_what_the_apps_sessions_wrote_to_its_topic(
        self, kit_app: KitApp, settings: ServiceSettings
    ) -> None:
        app = kit_app(settings=settings)
        async with running_app(app), app.state.sessions() as session, session.begin():
            add_event(session, CloudEvent(type="t.v1", source="/kit", subject="k", data={}))
        records = await read_topic(
            settings.kafka_bootstrap_servers, settings.events_topic, at_least=1
        )
        assert [e.type for e in events_of(records)] == ["t.v1"]

    async def test_what_it_holds_open_closes_after_the_workers_stop(
        self, kit_app: KitApp, settings: ServiceSettings
    ) -> None:
        consumers: list[IdleConsumer] = []
        seen: list[tuple[str, bool]] = []

        async def close(name: str) -> None:
            seen.append((name, consumers[0].stopped.is_set()))

        closing = [partial(close, "pool"), partial(close, "client")]
        app = kit_app(settings=settings, consumers=idle_consumers(consumers), closing=closing)
        async with running_app(app):
            assert seen == []
        assert seen == [("pool", True), ("client", True)]

    async def test_none_start_without_run_background_workers(self, kit_app: KitApp) -> None:
        consumers: list[IdleConsumer] = []
        app = kit_app(consumers=idle_consumers(consumers))
        before = asyncio.all_tasks()
        async with running_app(app):
            names = {t.get_name() for t in asyncio.all_tasks() - before}
            assert app.state.consumers == consumers  # built, for retrying dead letters
        assert not names & WORKERS and not consumers[0].ran


class Cycle:
    """An object that refers to itself: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


class TestSettledHeap:
    def test_start_ups_garbage_is_collected_and_what_lives_is_frozen(self) -> None:
        garbage, kept = Cycle(), Cycle()
        gone = weakref.ref(garbage)
        del garbage
        frozen, threshold = gc.get_freeze_count(), gc.get_threshold()
        try:
            settle_heap()
            assert gone() is None  # collected before the freeze, not frozen with the rest
            assert gc.get_freeze_count() > frozen
            assert not any(o is kept for o in gc.get_objects())  # out of every generation
            assert gc.get_threshold() == (YOUNG_THRESHOLD, *threshold[1:])
        finally:
            gc.unfreeze()
            gc.set_threshold(*threshold)
        assert any(o is kept for o in gc.get_objects())

    async def test_a_test_processs_apps_leave_it_alone(self, kit_app: KitApp) -> None:
        frozen, threshold = gc.get_freeze_count(), gc.get_threshold()
        async with running_app(kit_app()):
            assert gc.get_freeze_count() == frozen and gc.get_threshold() == threshold
