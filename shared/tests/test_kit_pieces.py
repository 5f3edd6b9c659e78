"""The kit's small pieces: the clock on the app, the cipher, schema bases, the outbox topic,
the read-model upsert and the test kit's helpers."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import APIRouter
from pydantic import SecretStr, ValidationError
from sqlalchemy import Integer, MetaData, String, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared_kit.app import ServiceSpec, create_service_app
from shared_kit.crypto import RotatingCipher
from shared_kit.db import create_engine, create_session_factory
from shared_kit.deps import NowDep
from shared_kit.events import CloudEvent, add_event
from shared_kit.events.outbox import OutboxMessage
from shared_kit.readmodel import upsert_if_newer
from shared_kit.schemas import ReadModel, Strict
from shared_kit.settings import ServiceSettings
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer, problem
from shared_kit.testing.tokens import AudienceTokens, TokenIssuer

START = dt.datetime(2026, 9, 1, 6, 0, tzinfo=dt.UTC)


class TestClockOnTheApp:
    async def test_requests_read_the_services_clock(self, kit_database: str) -> None:
        router = APIRouter()

        @router.get("/now")
        async def now(at: NowDep) -> dict[str, str]:
            return {"now": at.isoformat()}

        clock = TestClock(START)
        settings = ServiceSettings(
            environment="test", database_url=kit_database, run_background_workers=False
        )
        spec = ServiceSpec(
            name="kit",
            title="Kit",
            description="",
            settings=settings,
            routers=[router],
            clock=clock,
        )
        async with running_app(create_service_app(spec)) as client:
            first = (await client.get("/now")).json()["now"]
            clock.advance(days=1)
            second = (await client.get("/now")).json()["now"]
        assert first == START.isoformat()
        assert second == (START + dt.timedelta(days=1)).isoformat()


class TestTestClock:
    def test_it_stands_still_unless_it_ticks(self) -> None:
        still = TestClock(START)
        assert still() == still() == START
        ticking = TestClock(START, tick=dt.timedelta(milliseconds=1))
        assert ticking() < ticking()

    def test_it_moves_when_told(self) -> None:
        clock = TestClock(START)
        assert clock.advance(hours=2) == START + dt.timedelta(hours=2)
        assert clock.set(START) == START

    def test_a_naive_start_is_refused(self) -> None:
        with pytest.raises(ValueError):
            TestClock(dt.datetime(2026, 1, 1))


class TestRotatingCipher:
    def test_round_trip_and_rotation(self) -> None:
        old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        token = RotatingCipher(old).encrypt("010185-10004")
        rotated = RotatingCipher(SecretStr(f"{new},{old}"))
        assert rotated.decrypt(token) == "010185-10004"
        assert RotatingCipher(new).decrypt(rotated.rotate(token)) == "010185-10004"

    def test_a_foreign_token_is_a_value_error(self) -> None:
        token = RotatingCipher(Fernet.generate_key().decode()).encrypt("x")
        with pytest.raises(ValueError):
            RotatingCipher(Fernet.generate_key().decode()).decrypt(token)

    def test_no_key_is_refused(self) -> None:
        with pytest.raises(ValueError):
            RotatingCipher(" , ")


class TestSchemaBases:
    def test_strict_refuses_unknown_fields(self) -> None:
        class Body(Strict):
            name: str

        with pytest.raises(ValidationError):
            Body.model_validate({"name": "a", "nmae": "b"})

    def test_read_model_reads_attributes(self) -> None:
        class Out(ReadModel):
            name: str

        class Row:
            name = "a"

        assert Out.model_validate(Row()).name == "a"


class TestOutboxTopic:
    async def test_events_go_to_the_factorys_topic(self, kit_database: str) -> None:
        engine = create_engine(kit_database)
        try:
            sessions = create_session_factory(engine, outbox_topic="kit.events")
            async with sessions() as session, session.begin():
                add_event(session, CloudEvent(type="t.v1", source="/kit", subject="k", data={}))
            async with sessions() as session:
                topics = (await session.scalars(select(OutboxMessage.topic))).all()
            assert topics == ["kit.events"]
            async with create_session_factory(engine)() as session:
                with pytest.raises(RuntimeError):
                    add_event(session, CloudEvent(type="t.v1", source="/k", subject="k", data={}))
        finally:
            await engine.dispose()


class _Base(DeclarativeBase):
    metadata = MetaData()


class Snapshot(_Base):
    __tablename__ = "snapshot"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    source_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    tags: Mapped[list[str]] = mapped_column(JSONB, default=list)


@pytest.fixture
async def snapshots(
    make_database: Callable[[Path | None], Awaitable[str]],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of a new database with the snapshot table."""
    engine = create_async_engine(await make_database(None))
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    yield create_session_factory(engine)
    await engine.dispose()


async def stored(sessions: async_sessionmaker[AsyncSession], device: uuid.UUID) -> Snapshot:
    """The stored snapshot of a device."""
    async with sessions() as session:
        row = await session.get(Snapshot, device)
    assert row is not None
    return row


class TestUpsertIfNewer:
    async def test_only_a_newer_version_is_applied(
        self, snapshots: async_sessionmaker[AsyncSession]
    ) -> None:
        device = uuid.uuid4()

        async def apply(version: int, status: str) -> bool:
            async with snapshots() as session, session.begin():
                values = {"id": device, "source_version": version, "status": status}
                return await upsert_if_newer(session, Snapshot, values)

        assert await apply(2, "on_loan")
        assert not await apply(1, "available")  # older, out of order
        assert not await apply(2, "lost")  # a replay of the same version
        assert await apply(3, "available")
        row = await stored(snapshots, device)
        assert (row.source_version, row.status) == (3, "available")
        assert row.tags == []  # no snapshot gave tags: the insert's default stands

    async def test_its_values_are_bound_as_sqlalchemy_binds_them(
        self, snapshots: async_sessionmaker[AsyncSession]
    ) -> None:
        device = uuid.uuid4()
        values = {"id": device, "source_version": 1, "status": "lent", "tags": ["lādētājs"]}
        async with snapshots() as session, session.begin():
            assert await upsert_if_newer(session, Snapshot, values)
            newer = {"id": device, "source_version": 2, "status": "returned"}
            assert await upsert_if_newer(session, Snapshot, newer)
        row = await stored(snapshots, device)
        # A column the newer snapshot leaves out keeps its value; the rest follow it.
        assert (row.status, row.tags) == ("returned", ["lādētājs"])


class TestHttpHelpers:
    def test_problem_checks_status_type_and_media_type(self) -> None:
        body = {"type": "https://datori.lv/problems/not-found", "status": 404, "title": "x"}
        good = httpx.Response(404, json=body, headers={"content-type": "application/problem+json"})
        assert problem(good, 404, "not-found")["title"] == "x"
        plain = httpx.Response(404, json=body)
        with pytest.raises(AssertionError):
            problem(plain, 404, "not-found")
        with pytest.raises(AssertionError):
            problem(good, 404, "gone")

    def test_bearer_and_audience_tokens(self, token_issuer: TokenIssuer) -> None:
        tokens = AudienceTokens(token_issuer, "tickets")
        token = tokens.mint("p-1", roles=["guardian"])
        assert bearer(token) == {"Authorization": f"Bearer {token}"}
        claims: dict[str, Any] = _claims(token)
        assert claims["aud"] == "tickets" and claims["sub"] == "p-1"


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


class TestServiceSettings:
    async def test_topics_and_group_are_unique_to_the_test(
        self, service_settings: Callable[..., Awaitable[Any]], unique: str
    ) -> None:
        class DemoSettings(ServiceSettings):
            events_topic: str = "demo.events"
            inventory_topic: str = "inventory.events"
            consumer_group: str = "demo"

        settings = await service_settings(DemoSettings, None, log_level="DEBUG")
        assert settings.events_topic == f"demo.events.{unique}"
        assert settings.inventory_topic == f"inventory.events.{unique}"
        assert settings.consumer_group == f"demo.{unique}"
        assert settings.log_level == "DEBUG" and not settings.run_background_workers
