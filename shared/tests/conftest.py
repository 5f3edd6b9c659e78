"""Kit tests: a database holding only the kit's own tables."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from shared_kit import tables
from shared_kit.db import Base


@pytest.fixture
async def kit_database(make_database: Callable[[Path | None], Awaitable[str]]) -> str:
    """URL of a fresh database with the outbox, inbox, dead-letter and idempotency tables."""
    url = await make_database(None)
    engine = create_async_engine(url)
    kit = [
        tables.OutboxMessage.__table__,
        tables.InboxMessage.__table__,
        tables.DeadLetter.__table__,
        tables.IdempotencyRecord.__table__,
    ]
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: Base.metadata.create_all(sync, tables=kit))
    await engine.dispose()
    return url
