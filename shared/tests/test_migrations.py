"""Alembic helpers and the migrate command, on a throwaway service with two migrations."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from shared_kit.db import create_engine
from shared_kit.migrations import (
    alembic_config,
    current_revision,
    head_revision,
    known_revisions,
    main,
    migrate_service,
    upgrade,
)
from shared_kit.testing.database import fetch
from shared_kit.testing.infra import Postgres, free_port
from shared_kit.testing.plugin import DatabaseFactory

CONFIG = """
from pydantic_settings import SettingsConfigDict

from shared_kit.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KITDEMO_", extra="ignore")
"""

MAIN = """
from pathlib import Path

MIGRATIONS = Path({migrations!r})
"""


@dataclass(frozen=True)
class DemoService:
    """A service package with a settings class and a migrations folder."""

    package: str
    migrations: Path


def _write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content.lstrip())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_migrations: Path) -> Iterator[DemoService]:
    """A service package whose `main.MIGRATIONS` is the demo migrations folder."""
    root = tmp_path_factory.mktemp("demo")
    package = f"kitdemo_{uuid.uuid4().hex[:8]}_service"
    _write(root / package / "__init__.py", "")
    _write(root / package / "config.py", CONFIG)
    _write(root / package / "main.py", MAIN.format(migrations=str(demo_migrations)))
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        yield DemoService(package, demo_migrations)
    for name in [m for m in sys.modules if m.startswith(package)]:
        del sys.modules[name]


async def _columns(url: str) -> list[str]:
    query = (
        "select column_name from information_schema.columns"
        " where table_name = 'thing' order by ordinal_position"
    )
    return [row[0] for row in await fetch(url, query)]


async def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


class TestRevisions:
    def test_head_and_known_revisions(self, demo: DemoService) -> None:
        assert head_revision(demo.migrations) == "0002"
        assert known_revisions(demo.migrations) == {"0001", "0002"}

    def test_a_folder_without_revisions_has_no_head(self, tmp_path: Path) -> None:
        (tmp_path / "versions").mkdir()
        assert head_revision(tmp_path) is None
        assert known_revisions(tmp_path) == frozenset()

    def test_a_percent_in_the_url_survives_the_config(self, tmp_path: Path) -> None:
        url = "postgresql+asyncpg://kit:p%25ss@127.0.0.1/kit"
        assert alembic_config(tmp_path, url).get_main_option("sqlalchemy.url") == url


class TestUpgrade:
    async def test_upgrade_step_by_step(
        self, demo: DemoService, make_database: Callable[[Path | None], Awaitable[str]]
    ) -> None:
        url = await make_database(None)
        assert await _revision(url) is None
        await asyncio.to_thread(upgrade, demo.migrations, url, "0001")
        assert (await _revision(url), await _columns(url)) == ("0001", ["id"])
        await asyncio.to_thread(upgrade, demo.migrations, url)
        assert (await _revision(url), await _columns(url)) == ("0002", ["id", "colour"])


class TestMigrateCommand:
    async def test_it_creates_a_missing_database_and_migrates_it(
        self,
        demo: DemoService,
        postgres: Postgres,
        database_factory: DatabaseFactory,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        name = f"t_{uuid.uuid4().hex[:12]}"
        monkeypatch.setenv("KITDEMO_DATABASE_URL", postgres.url(name))
        try:
            for _ in range(2):  # the second run finds everything done
                assert await asyncio.to_thread(main, [demo.package, "--create-database"]) == 0
                assert await _revision(postgres.url(name)) == "0002"
        finally:
            await database_factory.drop(name)

    async def test_replicas_starting_together_migrate_one_at_a_time(
        self, demo: DemoService, make_database: Callable[[Path | None], Awaitable[str]]
    ) -> None:
        url = await make_database(None)
        both = [migrate_service(demo.package, url) for _ in range(2)]
        assert await asyncio.gather(*both) == ["0002", "0002"]
        assert await _columns(url) == ["id", "colour"]

    async def test_an_unreachable_server_fails_once_the_wait_is_over(
        self, demo: DemoService
    ) -> None:
        url = f"postgresql+asyncpg://kit@127.0.0.1:{free_port()}/kit"
        with pytest.raises((OSError, DBAPIError)):
            await migrate_service(demo.package, url, wait_s=0)

    def test_without_a_url_it_names_the_variable(
        self, demo: DemoService, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.delenv("KITDEMO_DATABASE_URL", raising=False)
        with pytest.raises(SystemExit):
            main([demo.package])
        assert "KITDEMO_DATABASE_URL" in capsys.readouterr().err
