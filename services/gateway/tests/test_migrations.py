"""The migrations build exactly the tables the models describe, the kit's tables included, and
step back where they can."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import text

from gateway_service.config import GatewaySettings
from gateway_service.main import MIGRATIONS
from gateway_service.models import migration_metadata
from shared_kit.db import create_engine
from shared_kit.migrations import alembic_config, upgrade
from shared_kit.testing.migrations import migration_diff

from .conftest import Tokens
from .test_people import grant, person_id


async def test_migrations_match_the_models(settings: GatewaySettings) -> None:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        assert await migration_diff(engine, migration_metadata()) == []
    finally:
        await engine.dispose()


async def _granted_roles(settings: GatewaySettings) -> list[str]:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            query = text("SELECT unnest(enum_range(NULL::granted_role))::text")
            return list((await conn.scalars(query)).all())
    finally:
        await engine.dispose()


class TestProgrammeManagerRole:
    async def test_steps_back_while_nobody_holds_it(self, settings: GatewaySettings) -> None:
        url = settings.database_url
        await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "0005")
        assert "programme_manager" not in await _granted_roles(settings)
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        assert "programme_manager" in await _granted_roles(settings)
        engine = create_engine(url, pool_size=1)
        try:
            assert await migration_diff(engine, migration_metadata()) == []
        finally:
            await engine.dispose()

    async def test_refuses_to_step_back_over_a_grant(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await person_id(app)
        r = await grant(client, tokens.platform, person, "programme_manager")
        assert r.status_code == 201, r.text
        await app.state.engine.dispose()
        config = alembic_config(MIGRATIONS, app.state.settings.database_url)
        with pytest.raises(RuntimeError, match="programme_manager"):
            await asyncio.to_thread(command.downgrade, config, "0005")
        assert "programme_manager" in await _granted_roles(app.state.settings)
