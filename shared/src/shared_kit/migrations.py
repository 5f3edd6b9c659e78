"""Alembic helpers: each service's env.py and programmatic upgrades use these."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


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
