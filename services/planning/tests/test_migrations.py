"""The migrations build exactly the tables the models describe."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from planning_service.models import migration_metadata
from shared_kit.testing.migrations import migration_diff


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    assert await migration_diff(engine, migration_metadata()) == []
