"""`Prepared` statements on real PostgreSQL: the values as SQLAlchemy would bind them, the
session's transaction (or none), and errors as SQLAlchemy raises them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any

import pytest
from sqlalchemy import (
    CheckConstraint,
    Column,
    Enum,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    bindparam,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, PendingRollbackError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared_kit.db import create_engine, create_session_factory, statements_commit_alone
from shared_kit.prepared import Prepared


class Kind(StrEnum):
    SCREEN = "screen"
    BATTERY = "battery"


metadata = MetaData()
sample = Table(
    "prepared_sample",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "kind", Enum(Kind, name="prepared_kind", values_callable=lambda e: [m.value for m in e])
    ),
    Column("doc", JSONB),
    Column("code", String(3)),
    Column("count", Integer, CheckConstraint("count >= 0")),
)
ADD = Prepared(
    insert(sample).values(
        id=bindparam("id"), kind=bindparam("kind"), doc=bindparam("doc"), code=bindparam("code"),
        count=bindparam("count"),
    )
)  # fmt: skip
READ = Prepared(
    select(sample, func.upper("ok").label("literal")).where(sample.c.id == bindparam("id"))
)
CODES = Prepared(select(sample.c.code).order_by(sample.c.code))
COUNT = select(func.count()).select_from(sample)


def row(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "id": uuid.uuid4(), "kind": Kind.SCREEN, "doc": {"a": [1, "ā"]}, "code": "LV", "count": 1
    }  # fmt: skip
    return {**values, **changes}


@pytest.fixture
async def engine(kit_database: str) -> AsyncIterator[AsyncEngine]:
    setup = create_async_engine(kit_database)
    async with setup.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await setup.dispose()
    engine = create_engine(kit_database, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker:
    return create_session_factory(engine)


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(COUNT) or 0)


class TestValues:
    async def test_bound_as_sqlalchemy_binds_them_and_read_as_asyncpg_decodes(
        self, sessions: async_sessionmaker
    ) -> None:
        values = row(kind=Kind.BATTERY)
        async with sessions() as session:
            await ADD.execute(session, values)
            record = await READ.fetchrow(session, {"id": values["id"]})
            orm_row = (await session.execute(select(sample))).one()
            await session.commit()
        assert record is not None
        assert record["kind"] == "battery" and orm_row.kind is Kind.BATTERY
        assert record["doc"] == {"a": [1, "ā"]} == orm_row.doc
        assert (record["code"], record["count"], record["literal"]) == ("LV", 1, "OK")

    async def test_no_row_is_none_and_a_missing_value_is_refused(
        self, sessions: async_sessionmaker
    ) -> None:
        async with sessions() as session:
            assert await READ.fetchrow(session, {"id": uuid.uuid4()}) is None
            with pytest.raises(ValueError, match="'count'"):
                await ADD.execute(session, {k: v for k, v in row().items() if k != "count"})

    async def test_the_statements_own_in_lists_and_not_one_given_at_each_call(
        self, sessions: async_sessionmaker
    ) -> None:
        screens = Prepared(
            select(func.count()).where(
                sample.c.kind.in_([Kind.SCREEN]), sample.c.code.in_(["LV", "EE"])
            )
        )
        async with sessions() as session:
            for values in (row(), row(code="EE"), row(code="LT"), row(kind=Kind.BATTERY)):
                await ADD.execute(session, values)
            assert (await screens.fetchrow(session, {}))[0] == 2  # type: ignore[index]
            codes = await CODES.fetch(session, {})
            assert [r["code"] for r in codes] == ["EE", "LT", "LV", "LV"]
            await session.rollback()
        with pytest.raises(ValueError, match="any_of"):
            Prepared(select(sample).where(sample.c.code.in_(bindparam("codes", expanding=True))))


class TestEvents:
    async def test_before_cursor_execute_listeners_hear_each_statement(
        self, engine: AsyncEngine, sessions: async_sessionmaker
    ) -> None:
        heard: list[tuple[str, tuple[Any, ...]]] = []

        def listen(_conn: Any, cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
            heard.append((sql, params))

        values = row()
        async with sessions() as session:
            await ADD.execute(session, values)  # before listening: not heard
            event.listen(engine.sync_engine, "before_cursor_execute", listen)
            try:
                await READ.fetchrow(session, {"id": values["id"]})
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", listen)
            await CODES.fetch(session, {})  # after: not heard
            await session.rollback()
        assert heard == [(READ.sql, tuple(READ.args({"id": values["id"]})))]


class TestTransactions:
    async def test_runs_in_the_sessions_transaction_even_as_its_first_statement(
        self, sessions: async_sessionmaker, engine: AsyncEngine
    ) -> None:
        async with sessions() as session:
            await ADD.execute(session, row())  # BEGIN comes first, as for any statement
            await ADD.execute(session, row())
            assert await session.scalar(COUNT) == 2
            await session.rollback()
        assert await count(engine) == 0
        async with sessions() as session:
            await ADD.execute(session, row())
            await session.commit()
        assert await count(engine) == 1

    async def test_commits_alone_when_the_session_says_so(
        self, sessions: async_sessionmaker, engine: AsyncEngine
    ) -> None:
        async with sessions() as session:
            await statements_commit_alone(session)
            await ADD.execute(session, row())
            with pytest.raises(IntegrityError):
                await ADD.execute(session, row(count=-1))
            await session.rollback()  # nothing to roll back: the first row stands
        assert await count(engine) == 1
        async with sessions() as session:  # the connection went back in its usual mode
            await ADD.execute(session, row())
            await session.rollback()
        assert await count(engine) == 1

    async def test_a_transactions_connection_is_looked_up_once(
        self, sessions: async_sessionmaker, engine: AsyncEngine
    ) -> None:
        async with sessions() as session:
            lookups = counted(session)
            await ADD.execute(session, row())
            await ADD.execute(session, row())
            assert await READ.fetchrow(session, {"id": uuid.uuid4()}) is None
            assert lookups == [1]
            await session.commit()
            await ADD.execute(session, row())  # a new transaction: looked up again
            assert lookups == [2]
            assert await session.scalar(COUNT) == 3
            await session.rollback()
            await ADD.execute(session, row())
            assert lookups == [3]
            await session.commit()
        assert await count(engine) == 3
        async with sessions() as session:
            await statements_commit_alone(session)
            lookups = counted(session)
            await ADD.execute(session, row())
            await ADD.execute(session, row())
            assert lookups == [0]  # the connection statements_commit_alone looked up
            await session.rollback()
        assert await count(engine) == 5

    async def test_after_a_commit_it_runs_on_the_new_transactions_connection(
        self, sessions: async_sessionmaker, engine: AsyncEngine
    ) -> None:
        async with sessions() as session, sessions() as other:
            await ADD.execute(session, row())
            await session.commit()  # its connection back in the pool
            await other.connection()  # which another session takes
            assert await session.scalar(COUNT) == 1  # a new transaction on a new connection
            await ADD.execute(session, row())
            assert await session.scalar(COUNT) == 2  # in that same transaction
            await session.rollback()
            await other.rollback()
        assert await count(engine) == 1

    async def test_an_invalidated_connection_is_not_reused(
        self, sessions: async_sessionmaker, engine: AsyncEngine
    ) -> None:
        async with sessions() as session:
            await ADD.execute(session, row())
            connection = await session.connection()
            await connection.invalidate()
            with pytest.raises(PendingRollbackError):  # as SQLAlchemy's own statements
                await ADD.execute(session, row())
            await session.rollback()
            await ADD.execute(session, row())
            await session.commit()
        assert await count(engine) == 1


def counted(session: AsyncSession) -> list[int]:
    """How often `session.connection()` is called from now on (one item, updated in place)."""
    calls, look_up = [0], session.connection

    async def connection(**kw: Any) -> AsyncConnection:
        calls[0] += 1
        return await look_up(**kw)

    session.connection = connection  # type: ignore[method-assign]
    return calls


class TestErrors:
    async def test_raised_as_sqlalchemy_raises_them_without_the_parameters(
        self, sessions: async_sessionmaker
    ) -> None:
        taken = row()
        async with sessions() as session:
            await statements_commit_alone(session)
            await ADD.execute(session, taken)
            cases = [
                (row(id=taken["id"], code="XYZ"), IntegrityError, "23505"),
                (row(count=-1), IntegrityError, "23514"),
                (row(code="TOO LONG"), DataError, "22001"),
            ]
            for values, kind, sqlstate in cases:
                with pytest.raises(kind) as raised:
                    await ADD.execute(session, values)
                assert raised.value.orig.sqlstate == sqlstate  # type: ignore[union-attr]
                assert raised.value.params is None and "parameters" not in str(raised.value)
            assert await READ.fetchrow(session, {"id": taken["id"]}) is not None

    async def test_a_connection_that_broke_is_invalidated(
        self, sessions: async_sessionmaker, kit_database: str
    ) -> None:
        admin = create_async_engine(kit_database)
        try:
            async with sessions() as session:
                pid = await session.scalar(text("SELECT pg_backend_pid()"))
                async with admin.connect() as other:
                    await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                with pytest.raises(DBAPIError) as raised:
                    await ADD.execute(session, row())
                assert raised.value.connection_invalidated
                await session.rollback()
            async with sessions() as session:  # a fresh connection, not the dead one
                await ADD.execute(session, row())
                assert await session.scalar(text("SELECT pg_backend_pid()")) != pid
                await session.commit()
        finally:
            await admin.dispose()
