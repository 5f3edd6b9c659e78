"""Ops endpoints: liveness, readiness (database, migrations, broker), metrics, dead letters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.app import ServiceApp
from shared_kit.db import create_engine, create_session_factory
from shared_kit.events import CloudEvent
from shared_kit.events.consumer import ConsumerRunner, DeadLetter, InboxMessage
from shared_kit.migrations import upgrade
from shared_kit.settings import ServiceSettings
from shared_kit.testing.client import running_app
from shared_kit.testing.database import fetch
from shared_kit.testing.http import bearer, problem
from shared_kit.testing.infra import free_port
from shared_kit.testing.tokens import TokenIssuer

KitApp = Callable[..., ServiceApp]
LETTERS = "/api/v1/kit/ops/dead-letters"
TYPE = "kit.ops.v1"


def _nowhere() -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"


async def _ready(app: ServiceApp) -> httpx.Response:
    async with running_app(app) as client:
        return await client.get("/readyz")


class TestHealth:
    async def test_liveness_needs_no_database(
        self, kit_app: KitApp, kit_settings: ServiceSettings
    ) -> None:
        dead = kit_settings.model_copy(update={"database_url": _nowhere()})
        async with running_app(kit_app(settings=dead)) as client:
            live = await client.get("/healthz")
        assert (live.status_code, live.json()) == (200, {"status": "ok", "checks": {}})


class TestReadiness:
    async def test_ready_with_its_database_and_broker(
        self, kit_app: KitApp, kit_settings: ServiceSettings, kafka_bootstrap: str
    ) -> None:
        settings = kit_settings.model_copy(update={"kafka_bootstrap_servers": kafka_bootstrap})
        ready = await _ready(kit_app(settings=settings))
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}

    async def test_a_service_without_a_broker_asks_only_for_its_database(
        self, kit_app: KitApp
    ) -> None:
        ready = await _ready(kit_app(broker=False))
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok"}

    async def test_an_unreachable_database_is_not_ready(
        self, kit_app: KitApp, kit_settings: ServiceSettings
    ) -> None:
        dead = kit_settings.model_copy(update={"database_url": _nowhere()})
        body = problem(
            await _ready(kit_app(settings=dead, broker=False)), 503, "service-unavailable"
        )
        assert body["checks"]["database"].startswith("unreachable")

    async def test_an_unreachable_broker_is_not_ready(
        self, kit_app: KitApp, kit_settings: ServiceSettings
    ) -> None:
        bootstrap = f"127.0.0.1:{free_port()}"
        settings = kit_settings.model_copy(update={"kafka_bootstrap_servers": bootstrap})
        body = problem(await _ready(kit_app(settings=settings)), 503, "service-unavailable")
        assert body["checks"] == {"database": "ok", "broker": "unreachable"}

    @pytest.mark.parametrize(
        ("revision", "ready"),
        [
            (None, False),  # not migrated at all
            ("0001", False),  # behind this image's head
            ("0002", True),
            ("0003", True),  # a newer image migrated first (rolling update): still serve
        ],
    )
    async def test_migrations_must_be_at_head_or_newer(
        self,
        kit_app: KitApp,
        kit_settings: ServiceSettings,
        make_database: Callable[[Path | None], Awaitable[str]],
        demo_migrations: Path,
        revision: str | None,
        ready: bool,
    ) -> None:
        url = await make_database(None)
        if revision in ("0001", "0002"):
            await asyncio.to_thread(upgrade, demo_migrations, url, revision)
        elif revision == "0003":
            await asyncio.to_thread(upgrade, demo_migrations, url)
            # A newer image migrated past what this one knows.
            await fetch(url, "update alembic_version set version_num = '0003'")
        settings = kit_settings.model_copy(update={"database_url": url})
        app = kit_app(settings=settings, migrations=demo_migrations, broker=False)
        answer = await _ready(app)
        if ready:
            assert answer.status_code == 200, answer.text
        else:
            body = problem(answer, 503, "service-unavailable")
            assert body["checks"]["database"] == f"migrations pending (at {revision}, head 0002)"


class TestMetrics:
    async def test_requests_are_counted_by_route(self, kit_app: KitApp) -> None:
        async with running_app(kit_app()) as client:
            await client.get("/healthz")
            metrics = await client.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert 'http_requests_total{method="GET",route="/healthz",status="200"}' in metrics.text


class Applier:
    """The one consumer of the kit app: applies `kit.ops.v1` events unless broken."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []
        self.broken = False

    async def apply(self, session: AsyncSession, evt: CloudEvent) -> None:
        if self.broken:
            raise ValueError("still broken")
        self.applied.append(evt.data)

    def consumers(
        self, sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings
    ) -> list[ConsumerRunner]:
        runner = ConsumerRunner(
            name="kit-apply",
            topics=["kit.in"],
            handlers={TYPE: self.apply},
            session_factory=sessions,
            settings=settings,
        )
        return [runner]


class TestDeadLetters:
    @pytest.fixture
    def applier(self) -> Applier:
        return Applier()

    @pytest.fixture
    async def client(self, kit_app: KitApp, applier: Applier) -> AsyncIterator[httpx.AsyncClient]:
        async with running_app(kit_app(consumers=applier.consumers)) as client:
            yield client

    @pytest.fixture
    async def sessions(
        self, kit_settings: ServiceSettings
    ) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
        engine = create_engine(kit_settings.database_url)
        yield create_session_factory(engine)
        await engine.dispose()

    @pytest.fixture
    def admin(self, token_issuer: TokenIssuer) -> dict[str, str]:
        return bearer(token_issuer.mint("admin-1", roles=["platform_admin"]))

    async def test_only_platform_admins_may_see_them(
        self, client: httpx.AsyncClient, token_issuer: TokenIssuer, admin: dict[str, str]
    ) -> None:
        problem(await client.get(LETTERS), 401, "unauthorized")
        others = [
            token_issuer.mint("riga-1", roles=["municipality_admin"], municipalities=["0010000"]),
            token_issuer.mint("platform", roles=["service"], client_id="platform"),
        ]
        for token in others:
            problem(await client.get(LETTERS, headers=bearer(token)), 403, "forbidden")
            url = f"{LETTERS}/{uuid.uuid4()}/retry"
            problem(await client.post(url, headers=bearer(token)), 403, "forbidden")
        assert (await client.get(LETTERS, headers=admin)).status_code == 200

    async def test_the_list_pages_through_the_unresolved_ones(
        self,
        client: httpx.AsyncClient,
        sessions: async_sessionmaker[AsyncSession],
        admin: dict[str, str],
    ) -> None:
        letters = await _dead_letters(sessions, resolved=[False, True, False])
        first = (await client.get(LETTERS, params={"limit": 1}, headers=admin)).json()
        cursor = {"limit": 1, "cursor": first["next_cursor"]}
        second = (await client.get(LETTERS, params=cursor, headers=admin)).json()
        unresolved = [letters[0].id, letters[2].id]
        assert {uuid.UUID(i["id"]) for i in first["items"] + second["items"]} == set(unresolved)
        assert second["next_cursor"] is None
        every = (await client.get(LETTERS, params={"unresolved": False}, headers=admin)).json()
        assert len(every["items"]) == 3

    async def test_a_retry_applies_the_event_once_and_resolves_the_letter(
        self,
        client: httpx.AsyncClient,
        sessions: async_sessionmaker[AsyncSession],
        applier: Applier,
        admin: dict[str, str],
    ) -> None:
        (letter,) = await _dead_letters(sessions)
        retried = await client.post(f"{LETTERS}/{letter.id}/retry", headers=admin)
        assert retried.status_code == 200, retried.text
        assert retried.json()["resolved_at"] is not None
        assert applier.applied == [{"n": 0}]
        async with sessions() as session:
            inbox = await session.scalar(select(func.count()).select_from(InboxMessage))
        assert inbox == 1
        again = await client.post(f"{LETTERS}/{letter.id}/retry", headers=admin)
        problem(again, 409, "conflict")
        assert applier.applied == [{"n": 0}]

    async def test_a_retry_that_still_fails_keeps_the_letter(
        self,
        client: httpx.AsyncClient,
        sessions: async_sessionmaker[AsyncSession],
        applier: Applier,
        admin: dict[str, str],
    ) -> None:
        (letter,) = await _dead_letters(sessions)
        applier.broken = True
        body = problem(
            await client.post(f"{LETTERS}/{letter.id}/retry", headers=admin), 409, "conflict"
        )
        assert "still broken" in body["detail"]
        listed = (await client.get(LETTERS, headers=admin)).json()["items"]
        assert [i["id"] for i in listed] == [str(letter.id)]

    async def test_an_unknown_letter_or_consumer_cannot_be_retried(
        self,
        client: httpx.AsyncClient,
        sessions: async_sessionmaker[AsyncSession],
        admin: dict[str, str],
    ) -> None:
        problem(
            await client.post(f"{LETTERS}/{uuid.uuid4()}/retry", headers=admin), 404, "not-found"
        )
        (stranger,) = await _dead_letters(sessions, consumer="gone")
        body = problem(
            await client.post(f"{LETTERS}/{stranger.id}/retry", headers=admin), 409, "conflict"
        )
        assert "gone" in body["detail"]


async def _dead_letters(
    sessions: async_sessionmaker[AsyncSession],
    *,
    resolved: Sequence[bool] = (False,),
    consumer: str = "kit-apply",
) -> list[DeadLetter]:
    """Dead letters of `kit.ops.v1` events with data `{"n": i}`, as the runner stores them."""
    letters = []
    for n, done in enumerate(resolved):
        evt = CloudEvent(type=TYPE, source="/kit", subject="k", data={"n": n})
        letters.append(
            DeadLetter(
                id=uuid.uuid4(),
                consumer=consumer,
                topic="kit.in",
                partition=0,
                offset=n,
                key=evt.subject,
                event_id=evt.id,
                event_type=evt.type,
                headers=[[k, v.decode()] for k, v in evt.kafka_headers()],
                payload=evt.kafka_value().decode(),
                error="ValueError('broken')",
                attempts=2,
                resolved_at=datetime.now(UTC) if done else None,
            )
        )
    async with sessions() as session, session.begin():
        session.add_all(letters)
    return letters
