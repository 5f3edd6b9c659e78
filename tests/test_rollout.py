"""Readiness during a rolling update (Kubernetes: init container migrates, /readyz gates traffic).

A pod is not ready while its database is behind its image's migrations (unmigrated, or at an
older revision), and stays ready when another pod of a newer version has already migrated the
database further: the old pods keep serving until the new ones are ready. The migration command
creates and migrates a database once, however many pods start together.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from inventory_service.config import InventorySettings
from inventory_service.main import MIGRATIONS, create_app
from shared_kit.migrations import current_revision, head_revision, known_revisions, migrate_service
from shared_kit.testing.client import running_app
from shared_kit.testing.infra import Postgres


async def stamp(url: str, revision: str | None) -> None:
    """Set the database's Alembic revision (None: as if never migrated)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("delete from alembic_version"))
            if revision is not None:
                await conn.execute(
                    text("insert into alembic_version (version_num) values (:r)"), {"r": revision}
                )
    finally:
        await engine.dispose()


class TestReadinessFollowsMigrations:
    """/readyz answers 503 while migrations are pending, 200 at or past the image's head."""

    @pytest.mark.parametrize(
        ("revision", "ready"),
        [("head", True), ("older", False), (None, False), ("a-newer-release", True)],
    )
    async def test_readiness(
        self,
        make_database: Callable[[Path | None], Awaitable[str]],
        kafka_bootstrap: str,
        revision: str | None,
        ready: bool,
    ) -> None:
        url = await make_database(MIGRATIONS)
        head = head_revision(MIGRATIONS)
        older = sorted(known_revisions(MIGRATIONS) - {head})
        assert head and older, "needs at least two migrations"
        stamped = {"head": head, "older": older[0]}.get(revision or "", revision)
        await stamp(url, stamped)
        settings = InventorySettings(
            environment="test",
            database_url=url,
            kafka_bootstrap_servers=kafka_bootstrap,
            run_background_workers=False,
            log_json=False,
        )
        async with running_app(create_app(settings)) as client:
            r = await client.get("/readyz")
        assert (r.status_code == 200) is ready, r.text
        if not ready:
            assert "migrations pending" in r.text


class TestMigrationCommand:
    """`python -m shared_kit.migrations <package>`, the init container's command."""

    async def test_creates_and_migrates_once_when_pods_start_together(
        self, postgres: Postgres
    ) -> None:
        name = f"rollout_{uuid.uuid4().hex[:8]}"
        url = postgres.url(name)
        try:
            # Two pods' init containers at once: the advisory lock makes them take turns.
            revisions = await asyncio.gather(
                *(migrate_service("inventory_service", url, create_database=True) for _ in "ab")
            )
            assert revisions == [head_revision(MIGRATIONS)] * 2
            engine = create_async_engine(url)
            try:
                async with engine.connect() as conn:
                    assert await current_revision(engine) == revisions[0]
                    assert await conn.scalar(text("select count(*) from device")) == 0
            finally:
                await engine.dispose()
        finally:
            admin = create_async_engine(postgres.admin_url, isolation_level="AUTOCOMMIT")
            try:
                async with admin.connect() as conn:
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            finally:
                await admin.dispose()
