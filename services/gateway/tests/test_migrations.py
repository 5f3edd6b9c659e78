"""The migrations build exactly the tables the models describe, the kit's tables included."""

from __future__ import annotations

from gateway_service.config import GatewaySettings
from gateway_service.models import migration_metadata
from shared_kit.db import create_engine
from shared_kit.testing.migrations import migration_diff


async def test_migrations_match_the_models(settings: GatewaySettings) -> None:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        assert await migration_diff(engine, migration_metadata()) == []
    finally:
        await engine.dispose()
