"""One statement on a test's database, on a connection of its own: the checks a test makes
beside the service (what waits in the outbox, which locks are waited for)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import create_async_engine


async def fetch(database_url: str, statement: str, **params: Any) -> list[Row[Any]]:
    """The rows of one statement (none for a statement that returns none); it is committed."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


async def scalar(database_url: str, statement: str, **params: Any) -> Any:
    """The first value of the first row of one statement (None when there is no row)."""
    rows = await fetch(database_url, statement, **params)
    return rows[0][0] if rows else None
