"""The migrations build exactly the tables the models describe, and step back cleanly."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications_service.config import NotificationsSettings
from notifications_service.main import MIGRATIONS
from notifications_service.models import migration_metadata
from shared_kit.migrations import alembic_config, upgrade
from shared_kit.testing.migrations import migration_diff


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    assert await migration_diff(engine, migration_metadata()) == []


async def test_downgrade_to_nothing_and_back(
    engine: AsyncEngine, settings: NotificationsSettings
) -> None:
    url = settings.database_url
    await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "base")
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    assert await migration_diff(engine, migration_metadata()) == []


async def test_the_service_answers(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/healthz")
    assert response.status_code == 200
