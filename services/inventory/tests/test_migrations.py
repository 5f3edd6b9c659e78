"""The migrations build exactly the tables the models describe (the kit's tables included)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import create_async_engine

from inventory_service.config import InventorySettings
from inventory_service.models import migration_metadata
from shared_kit.testing.migrations import migration_diff


async def test_migrations_match_the_models(settings: InventorySettings) -> None:
    engine = create_async_engine(settings.database_url)
    try:
        assert await migration_diff(engine, migration_metadata()) == []
    finally:
        await engine.dispose()
