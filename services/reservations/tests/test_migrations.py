"""The migrations build exactly the tables the models describe, with the constraint in place."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from reservations_service.models import migration_metadata
from shared_kit.testing.migrations import migration_diff

from .conftest import sql


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    assert await migration_diff(engine, migration_metadata()) == []


async def test_exclusion_constraint_and_extension_exist(engine: AsyncEngine) -> None:
    rows = await sql(
        engine,
        "SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint "
        "WHERE conname = 'ex_reservation_device_period'",
    )
    assert len(rows) == 1
    assert "EXCLUDE USING gist (device_id WITH =, period WITH &&)" in rows[0].definition
    assert "approved" in rows[0].definition and "fulfilled" in rows[0].definition
    assert await sql(engine, "SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'")
