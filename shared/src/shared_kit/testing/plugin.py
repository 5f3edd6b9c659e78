"""Pytest plugin: real PostgreSQL and broker per session, a fresh database per test.

Enabled with `-p shared_kit.testing.plugin`. Uses `DATABASE_URL` and
`KAFKA_BOOTSTRAP_SERVERS` when set, else embedded PostgreSQL and Tansu.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared_kit.migrations import upgrade
from shared_kit.settings import ServiceSettings
from shared_kit.testing.infra import (
    Postgres,
    Tansu,
    broker_from_env_or_tansu,
    postgres_from_env_or_embedded,
)
from shared_kit.testing.sharing import make_scheduler
from shared_kit.testing.tokens import JWKSServer, TokenIssuer


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile` keeps the modules of one shared stack on one worker (`sharing.py`)."""
    if config.getoption("dist") == "loadfile":
        return make_scheduler(config, log)
    return None


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """The PostgreSQL server of this test session (an embedded one does not sync to disk:
    its data is deleted with it)."""
    server = postgres_from_env_or_embedded(
        tmp_path_factory.mktemp("pg") / "data", delete_on_exit=True, durable=False
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of this session's broker."""
    with broker_from_env_or_tansu() as bootstrap:
        yield bootstrap


@pytest.fixture
def own_broker() -> Iterator[Tansu]:
    """A broker of this test's own, for tests that stop and start it."""
    broker = Tansu()
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def token_issuer() -> TokenIssuer:
    """Mints access tokens the services accept."""
    return TokenIssuer()


@pytest.fixture(scope="session")
def jwks_server(token_issuer: TokenIssuer) -> Iterator[JWKSServer]:
    """Serves the issuer's JWKS over HTTP, as the gateway will."""
    server = JWKSServer(token_issuer).start()
    yield server
    server.stop()


class DatabaseFactory:
    """Migrates a template database once per migrations folder, then clones it per test."""

    def __init__(self, server: Postgres) -> None:
        self.server = server
        self._templates: dict[Path, str] = {}
        self._lock = asyncio.Lock()

    async def _admin(self, sql: str) -> None:
        engine = create_async_engine(self.server.admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    async def template(self, migrations: Path) -> str:
        """Name of a migrated template database for these migrations."""
        async with self._lock:
            if migrations not in self._templates:
                name = f"tpl_{migrations.parent.name}_{_worker()}_{uuid.uuid4().hex[:6]}"
                await self._admin(f'CREATE DATABASE "{name}"')
                await asyncio.to_thread(upgrade, migrations, self.server.url(name))
                self._templates[migrations] = name
            return self._templates[migrations]

    async def create(self, migrations: Path | None) -> str:
        """A fresh database, migrated when `migrations` is given; returns its name."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        if migrations is None:
            await self._admin(f'CREATE DATABASE "{name}"')
            return name
        template = await self.template(migrations)
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    async def drop(self, name: str) -> None:
        """Drop a database, disconnecting whoever still uses it."""
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def drop_templates(self) -> None:
        """Drop the templates this factory made."""
        for name in self._templates.values():
            await self.drop(name)


@pytest.fixture(scope="session")
async def database_factory(postgres: Postgres) -> AsyncIterator[DatabaseFactory]:
    """Session-wide database factory."""
    factory = DatabaseFactory(postgres)
    yield factory
    await factory.drop_templates()


@pytest.fixture
async def make_database(
    database_factory: DatabaseFactory,
) -> AsyncIterator[Callable[[Path | None], Awaitable[str]]]:
    """`await make_database(migrations_dir)` → URL of a fresh (migrated) database."""
    created: list[str] = []

    async def make(migrations: Path | None) -> str:
        name = await database_factory.create(migrations)
        created.append(name)
        return database_factory.server.url(name)

    yield make
    for name in created:
        await database_factory.drop(name)


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic and group names."""
    return uuid.uuid4().hex[:10]


S = TypeVar("S", bound=ServiceSettings)
SettingsFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
def service_settings(
    make_database: Callable[[Path | None], Awaitable[str]],
    jwks_server: JWKSServer,
    kafka_bootstrap: str,
    unique: str,
) -> SettingsFactory:
    """`await service_settings(Settings, migrations, **overrides)`: a service's test settings.

    A fresh migrated database, the test JWKS, this session's broker, every `*_topic` and the
    consumer group suffixed with this test's `unique`, no background workers, short timeouts.
    """

    async def build(cls: type[S], migrations: Path | None, **overrides: Any) -> S:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": await make_database(migrations),
            "jwks_url": jwks_server.jwks_url,
            "jwks_min_refresh_s": 0,
            "kafka_bootstrap_servers": kafka_bootstrap,
            "run_background_workers": False,
            "log_json": False,
            "outbox_poll_interval_s": 0.05,
            "consumer_skipped_commit_s": 0.2,
            "consumer_session_timeout_ms": 3000,
            "consumer_max_attempts": 2,
            "kafka_topic_partitions": 3,
        }
        for name, field in cls.model_fields.items():
            if name.endswith("_topic") and isinstance(field.default, str):
                values[name] = f"{field.default}.{unique}"
        if "consumer_group" in cls.model_fields:
            values["consumer_group"] = f"{cls.model_fields['consumer_group'].default}.{unique}"
        return cls(**{**values, **overrides})

    return build
