"""Kit tests: a database holding only the kit's own tables, and a service app built on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import create_async_engine

from shared_kit import tables
from shared_kit.app import ServiceApp, ServiceSpec, create_service_app
from shared_kit.db import Base
from shared_kit.settings import ServiceSettings
from shared_kit.testing.tokens import JWKSServer


@pytest.fixture
async def kit_database(make_database: Callable[[Path | None], Awaitable[str]]) -> str:
    """URL of a fresh database with the outbox, inbox, dead-letter and idempotency tables."""
    url = await make_database(None)
    engine = create_async_engine(url)
    kit = [
        tables.OutboxMessage.__table__,
        tables.InboxMessage.__table__,
        tables.DeadLetter.__table__,
        tables.IdempotencyRecord.__table__,
    ]
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: Base.metadata.create_all(sync, tables=kit))
    await engine.dispose()
    return url


MIGRATIONS_ENV = """
from sqlalchemy import MetaData

from shared_kit.migrations import run_env

run_env(MetaData(), default_url=lambda: "postgresql+asyncpg://nobody@127.0.0.1:1/none")
"""

REVISION = '''
"""{slug}"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    {step}


def downgrade() -> None:
    pass
'''

DEMO_REVISIONS = [
    (
        "0001",
        None,
        "things",
        'op.create_table("thing", sa.Column("id", sa.Integer, primary_key=True))',
    ),
    ("0002", "0001", "colours", 'op.add_column("thing", sa.Column("colour", sa.Text))'),
]


@pytest.fixture(scope="session")
def demo_migrations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrations folder: 0001 creates the table `thing`, 0002 adds its `colour`."""
    folder = tmp_path_factory.mktemp("migrations")
    (folder / "env.py").write_text(MIGRATIONS_ENV.lstrip())
    (folder / "versions").mkdir()
    for revision, down, slug, step in DEMO_REVISIONS:
        source = REVISION.format(slug=slug, revision=revision, down=down, step=step)
        (folder / "versions" / f"20260101_{revision}_{slug}.py").write_text(source.lstrip())
    return folder


@pytest.fixture
def kit_settings(kit_database: str, jwks_server: JWKSServer) -> ServiceSettings:
    """Test settings on the kit's database and the test JWKS; no background workers."""
    return ServiceSettings(
        environment="test",
        database_url=kit_database,
        jwks_url=jwks_server.jwks_url,
        jwks_min_refresh_s=0,
        run_background_workers=False,
        log_json=False,
    )


@pytest.fixture
def kit_app(kit_settings: ServiceSettings) -> Callable[..., ServiceApp]:
    """`kit_app(*routers, **spec_fields)`: a service app named `kit` from the app factory."""

    def build(*routers: APIRouter, **fields: Any) -> ServiceApp:
        fields.setdefault("settings", kit_settings)
        spec = ServiceSpec(name="kit", title="Kit", description="", routers=list(routers), **fields)
        return create_service_app(spec)

    return build
