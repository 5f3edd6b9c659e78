"""Alembic helpers: each service's env.py and programmatic upgrades use these.

Also the command that migrates a service's database before it serves (the Kubernetes init
container, the compose one-shots): `python -m shared_kit.migrations inventory_service`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared_kit.settings import ServiceSettings


def alembic_config(script_location: Path, database_url: str) -> Config:
    """An Alembic config for a service's migrations folder and database."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(script_location: Path, database_url: str, revision: str = "head") -> None:
    """Run migrations up to `revision` (blocking; call from a thread inside event loops)."""
    command.upgrade(alembic_config(script_location, database_url), revision)


def head_revision(script_location: Path) -> str | None:
    """The newest revision in a migrations folder."""
    config = alembic_config(script_location, "postgresql://")
    return ScriptDirectory.from_config(config).get_current_head()


def known_revisions(script_location: Path) -> frozenset[str]:
    """Every revision in a migrations folder."""
    config = alembic_config(script_location, "postgresql://")
    return frozenset(s.revision for s in ScriptDirectory.from_config(config).walk_revisions())


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision a database is at (None when unmigrated)."""
    async with engine.connect() as conn:
        exists = await conn.scalar(text("select to_regclass('alembic_version') is not null"))
        if not exists:
            return None
        return await conn.scalar(text("select version_num from alembic_version"))


def run_env(metadata: MetaData, default_url: Callable[[], str]) -> None:
    """Body of a service's `env.py`: online migrations over asyncpg."""
    from alembic import context

    if not context.config.get_main_option("sqlalchemy.url"):
        context.config.set_main_option("sqlalchemy.url", default_url().replace("%", "%%"))

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(context.config.get_main_option("sqlalchemy.url") or "")
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(
            url=context.config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())


# Replicas starting together (an init container per pod) migrate one at a time.
MIGRATION_LOCK_ID = 0x0D47_0A1E


def _service_migrations(package: str) -> Path:
    """`<package>.main.MIGRATIONS`, the service's migrations folder."""
    return Path(importlib.import_module(f"{package}.main").MIGRATIONS)


def _env_prefix(package: str) -> str:
    """The env prefix of the service's settings class (`INVENTORY_` for `inventory_service`)."""
    config = importlib.import_module(f"{package}.config")
    classes: list[type[ServiceSettings]] = [
        value
        for value in vars(config).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value.__module__ == config.__name__
    ]
    if not classes:
        raise SystemExit(f"{package}.config defines no ServiceSettings subclass")
    return str(classes[0].model_config.get("env_prefix", ""))


async def _create_database(database_url: str) -> None:
    url = make_url(database_url)
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            query = text("select 1 from pg_database where datname = :name")
            if not await conn.scalar(query, {"name": url.database}):
                try:
                    await conn.execute(text(f'CREATE DATABASE "{url.database}"'))
                    print(f"created database {url.database}", flush=True)
                except DBAPIError:
                    if not await conn.scalar(query, {"name": url.database}):
                        raise  # not a pod that started at the same time: a real failure
    finally:
        await admin.dispose()


async def _locked_upgrade(migrations: Path, database_url: str) -> None:
    engine = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            try:
                # Alembic's env.py runs its own event loop: give it a thread of its own.
                await asyncio.to_thread(upgrade, migrations, database_url)
            finally:
                await conn.execute(
                    text("select pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID}
                )
    finally:
        await engine.dispose()


async def migrate_service(
    package: str, database_url: str, *, create_database: bool = False, wait_s: float = 60.0
) -> str | None:
    """Migrate a service's database to head, retrying while the server is unreachable."""
    migrations = _service_migrations(package)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if create_database:
                await _create_database(database_url)
            await _locked_upgrade(migrations, database_url)
            return head_revision(migrations)
        except (OSError, DBAPIError) as exc:
            if time.monotonic() >= deadline:
                raise
            print(f"database not reachable ({type(exc).__name__}); retrying", flush=True)
            await asyncio.sleep(2.0)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: migrate one service's database (URL from `<PREFIX>DATABASE_URL`)."""
    parser = argparse.ArgumentParser(
        prog="python -m shared_kit.migrations",
        description="Migrate a service's database to the head of its migrations.",
    )
    parser.add_argument("package", help="the service package, e.g. inventory_service")
    parser.add_argument("--database-url", help="default: <PREFIX>DATABASE_URL, e.g. INVENTORY_…")
    parser.add_argument(
        "--create-database", action="store_true", help="create the database when it is missing"
    )
    parser.add_argument(
        "--wait", type=float, default=60.0, help="seconds to retry an unreachable server"
    )
    args = parser.parse_args(argv)
    variable = f"{_env_prefix(args.package)}DATABASE_URL"
    database_url = args.database_url or os.environ.get(variable)
    if not database_url:
        parser.error(f"set {variable} or pass --database-url")
    revision = asyncio.run(
        migrate_service(
            args.package,
            database_url,
            create_database=args.create_database,
            wait_s=args.wait,
        )
    )
    print(f"{args.package}: database at {revision}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
