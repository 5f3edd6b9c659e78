"""The migrations build exactly the tables the models describe, and step back cleanly."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kit.migrations import alembic_config, upgrade
from shared_kit.testing.migrations import migration_diff
from tickets_service.main import MIGRATIONS
from tickets_service.models import migration_metadata

from .conftest import World, sql


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    assert await migration_diff(engine, migration_metadata()) == []


async def test_in_repair_goes_back_to_in_progress_on_downgrade(
    world: World, engine: AsyncEngine
) -> None:
    device, _ = await world.lent()
    ticket = await world.report(world.tokens.guardian, device)
    await world.move(ticket, "in_repair")
    url = world.settings.database_url
    await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "0001")
    query = "SELECT state::text FROM ticket UNION ALL SELECT to_state::text FROM ticket_transition"
    assert sorted(r.state for r in await sql(engine, query)) == [
        "in_progress",
        "in_progress",
        "new",
    ]
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    await world.app.state.engine.dispose()  # new connections, as pods after a migration have
    await world.move(ticket, "resolved")  # the repair under way survived the round trip
    assert await world.types(device) == ["repair.started", "repair.completed"]
