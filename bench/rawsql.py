"""Raw SQL beside the services: the statements an endpoint's own code sends, captured once in
this process, then replayed over plain asyncpg connections as the baseline of HTTP figures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.db import create_engine, create_session_factory

Statement = tuple[str, tuple[Any, ...]]  # SQL as the driver got it, and its parameters
Call = Callable[[AsyncSession], Awaitable[object]]
Send = Callable[[Any], Awaitable[bool]]


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as a DSN asyncpg takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def captured(url: str, calls: Sequence[Call]) -> list[list[Statement]]:
    """The SQL statements each call sends through a session of its own (rolled back after)."""
    engine = create_engine(url, pool_size=1)
    sessions = create_session_factory(engine)
    found: list[list[Statement]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        found[-1].append((sql, tuple(params or ())))

    try:
        for call in calls:
            async with sessions() as session:
                await session.execute(text("SELECT 1"))  # connects outside the capture
                found.append([])
                event.listen(engine.sync_engine, "before_cursor_execute", record)
                try:
                    await call(session)
                finally:
                    event.remove(engine.sync_engine, "before_cursor_execute", record)
                await session.rollback()
    finally:
        await engine.dispose()
    return found


@contextlib.asynccontextmanager
async def sql_pool(url: str, size: int) -> AsyncIterator[asyncpg.Pool]:
    """`size` open asyncpg connections."""
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=size, max_size=size)
    try:
        yield pool
    finally:
        await pool.close()


def sql_sender(pool: asyncpg.Pool, timeout_s: float) -> Send:
    """Run one request's statements in turn on a pooled connection (waiting for a free one
    counts in the latency); True when they all ran."""

    async def send(statements: list[Statement]) -> bool:
        try:
            async with asyncio.timeout(timeout_s), pool.acquire() as conn:
                for sql, params in statements:
                    await conn.fetch(sql, *params)
        except (asyncpg.PostgresError, OSError, TimeoutError):
            return False
        return True

    return send
