"""Database helpers of the kit, on real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared_kit.db import (
    any_of,
    create_engine,
    create_read_session_factory,
    create_session_factory,
    prefill,
    session_scope,
)
from shared_kit.events.consumer import InboxMessage
from shared_kit.events.outbox import OutboxMessage


class TestAnyOf:
    """`any_of` matches a column against any number of values in one statement."""

    async def test_more_values_than_a_statement_may_have_parameters(
        self, kit_database: str
    ) -> None:
        ids = [f"evt-{i}" for i in range(40_000)]
        rows = [{"consumer": "c", "event_id": i, "event_type": "t"} for i in ids[::2]]
        engine = create_async_engine(kit_database)
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(InboxMessage), rows)
                found = select(func.count()).where(any_of(InboxMessage.event_id, ids))
                assert await conn.scalar(found) == 20_000
        finally:
            await engine.dispose()

    async def test_other_types_and_no_values(self, kit_database: str) -> None:
        engine = create_async_engine(kit_database)
        try:
            async with engine.connect() as conn:
                uuids = [uuid.uuid4() for _ in range(40_000)]
                for condition in (
                    any_of(OutboxMessage.event_id, uuids),
                    any_of(OutboxMessage.seq, range(40_000)),
                    any_of(OutboxMessage.topic, []),
                ):
                    assert await conn.scalar(select(func.count()).where(condition)) == 0
        finally:
            await engine.dispose()


class TestReadSessions:
    """A read session runs each statement as its own transaction and refuses to write."""

    async def test_no_transaction_spans_two_statements(self, kit_database: str) -> None:
        engine = create_engine(kit_database, pool_size=1)
        try:
            for factory, apart in (
                (create_read_session_factory(engine), True),
                (create_session_factory(engine), False),
            ):
                async with factory() as session:
                    first = await session.scalar(select(func.now()))
                    await asyncio.sleep(0.01)
                    assert (await session.scalar(select(func.now())) != first) is apart
                    await session.commit()
        finally:
            await engine.dispose()

    async def test_writes_are_refused(self, kit_database: str) -> None:
        engine = create_engine(kit_database, pool_size=1)
        row = {"consumer": "c", "event_id": "e", "event_type": "t"}
        try:
            async with create_read_session_factory(engine)() as session:
                with pytest.raises(RuntimeError, match="does not write"):
                    await session.execute(insert(InboxMessage).values(**row))
                session.add(InboxMessage(**row))
                with pytest.raises(RuntimeError, match="does not write"):
                    await session.flush()
            async with engine.connect() as conn:
                assert await conn.scalar(select(func.count()).select_from(InboxMessage)) == 0
        finally:
            await engine.dispose()


class TestSessionScope:
    """A request's unit of work: committed or rolled back, its connection always given back."""

    @pytest.fixture
    async def engine(self, kit_database: str) -> AsyncIterator[AsyncEngine]:
        engine = create_engine(kit_database, pool_size=1)
        yield engine
        await engine.dispose()

    async def test_commits_and_closes(self, engine: AsyncEngine) -> None:
        async with scope(create_session_factory(engine)) as session:
            await session.execute(insert(InboxMessage).values(**INBOX))
        assert session.sync_session.get_transaction() is None
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert await inbox_rows(engine) == 1

    async def test_rolls_back_and_closes_when_the_block_fails(self, engine: AsyncEngine) -> None:
        with pytest.raises(ZeroDivisionError):
            async with scope(create_session_factory(engine)) as session:
                await session.execute(insert(InboxMessage).values(**INBOX))
                _ = 1 / 0
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert await inbox_rows(engine) == 0

    async def test_a_failed_commit_is_rolled_back_and_closed(self, engine: AsyncEngine) -> None:
        sessions = create_session_factory(engine)
        async with sessions.begin() as session:
            session.add(InboxMessage(**INBOX))
        with pytest.raises(IntegrityError):
            async with scope(sessions) as session:
                session.add(InboxMessage(**INBOX))  # flushed by the commit: a duplicate
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert await inbox_rows(engine) == 1

    async def test_a_cancelled_request_still_gives_its_connection_back(
        self, engine: AsyncEngine
    ) -> None:
        entered = asyncio.Event()

        async def request() -> None:
            async with scope(create_session_factory(engine)) as session:
                await session.execute(select(1))
                entered.set()
                await asyncio.sleep(10)

        task = asyncio.create_task(request())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


INBOX = {"consumer": "scope", "event_id": "e", "event_type": "t"}
scope = contextlib.asynccontextmanager(session_scope)  # as FastAPI runs a dependency


async def inbox_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(InboxMessage)
        return int(await conn.scalar(query.where(InboxMessage.consumer == "scope")) or 0)


class TestPoolLimit:
    async def test_a_request_waits_for_a_connection_as_long_as_set_then_gives_up(
        self, kit_database: str
    ) -> None:
        engine = create_engine(kit_database, pool_size=1, pool_timeout_s=0.2)
        try:
            async with engine.connect() as held:
                await held.scalar(select(1))
                with pytest.raises(PoolTimeout):
                    async with engine.connect():
                        pass  # never reached: the one connection is in use
            async with engine.connect() as again:  # given back: usable again
                assert await again.scalar(select(1)) == 1
        finally:
            await engine.dispose()


def counted_pings(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The connections the engine pings from now on, one entry a ping."""
    pings: list[Any] = []
    original = engine.dialect.do_ping

    def counted(connection: Any) -> bool:
        pings.append(connection)
        return original(connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


class TestIdlePing:
    """Only a connection idle in the pool for a while is pinged; a dead one is replaced."""

    async def test_a_connection_used_moments_ago_is_not_pinged(
        self, kit_database: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        engine = create_engine(kit_database, pool_size=1, ping_after_idle_s=0.2)
        pings = counted_pings(engine, monkeypatch)
        try:
            for pause, pinged in ((0, 0), (0, 0), (0.3, 1), (0, 1)):
                await asyncio.sleep(pause)
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                assert len(pings) == pinged
        finally:
            await engine.dispose()

    async def test_requests_at_a_steady_pace_reuse_a_warm_connection_unpinged(
        self, kit_database: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Ten requests a second on a pool of four open connections: taking the one idle longest
        # (first in, first out) finds it idle 0.4 s, past the 0.3 s, and pings it every time.
        engine = create_engine(kit_database, pool_size=4, ping_after_idle_s=0.3)
        pings = counted_pings(engine, monkeypatch)
        try:
            await prefill(engine, 4)
            await asyncio.sleep(0.4)  # all idle: the first request pings the one it takes
            for _ in range(12):
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                await asyncio.sleep(0.1)
            assert len(pings) == 1
        finally:
            await engine.dispose()

    async def test_a_connection_that_died_while_idle_is_replaced(self, kit_database: str) -> None:
        engine = create_engine(kit_database, pool_size=1, ping_after_idle_s=0)
        admin = create_async_engine(kit_database)
        try:
            async with engine.connect() as conn:
                pid = await conn.scalar(text("SELECT pg_backend_pid()"))
            async with admin.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await asyncio.sleep(0.1)
            async with engine.connect() as conn:
                assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
        finally:
            await engine.dispose()
            await admin.dispose()


class TestPool:
    """A burst above the pool waits for its connections instead of opening and closing more."""

    async def test_bursts_share_the_same_connections(self, kit_database: str) -> None:
        engine = create_engine(kit_database, pool_size=2)

        async def backend() -> int:
            async with engine.connect() as conn:
                pid = await conn.scalar(text("SELECT pg_backend_pid()"))
                await asyncio.sleep(0.05)
                return int(pid)

        try:
            first = set(await asyncio.gather(*(backend() for _ in range(6))))
            second = set(await asyncio.gather(*(backend() for _ in range(6))))
            assert len(first) == 2 and second == first
        finally:
            await engine.dispose()


class TestPrefill:
    """A prefilled pool holds its connections before any request needs one."""

    async def test_the_pool_opens_its_connections_at_once(self, kit_database: str) -> None:
        engine = create_engine(kit_database, pool_size=4)
        try:
            assert await prefill(engine, 4) == 4
            assert engine.sync_engine.pool.checkedin() == 4  # type: ignore[attr-defined]

            async def backend() -> int:
                async with engine.connect() as conn:
                    pid = await conn.scalar(text("SELECT pg_backend_pid()"))
                    await asyncio.sleep(0.05)
                    return int(pid)

            async with engine.connect() as conn:
                mine = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                assert await conn.scalar(text(mine)) == 4  # opened, idle, none beyond them
            assert len(set(await asyncio.gather(*(backend() for _ in range(8))))) == 4
        finally:
            await engine.dispose()

    async def test_an_unreachable_server_is_logged_not_raised(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with socket.socket() as closed:  # a port nobody listens on
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        engine = create_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{port}/none", pool_size=3)
        try:
            assert await prefill(engine, 3) == 0
            assert "opened 0 of 3 database connections at start" in caplog.text
        finally:
            await engine.dispose()
