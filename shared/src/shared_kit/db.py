"""Database base: one naming convention, UUID keys, timestamps, versions, and sessions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, DateTime, Integer, MetaData, any_, bindparam, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, QueryableAttribute, declared_attr, mapped_column

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; each service process has exactly one service's tables on it."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UUIDKey:
    """A random UUID primary key."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    """Timezone-aware creation and update times, set by the database."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Versioned:
    """Optimistic locking: SQLAlchemy bumps `version` and checks it on every UPDATE."""

    version: Mapped[int] = mapped_column(Integer, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        # eager_defaults: fetch server-set columns (updated_at) with RETURNING, not lazily.
        return {"version_id_col": cls.__table__.c.version, "eager_defaults": True}  # type: ignore[attr-defined]


def any_of(
    column: ColumnElement[T] | QueryableAttribute[T], values: Iterable[T]
) -> ColumnElement[bool]:
    """`column = ANY(:values)`: the values travel as one array parameter, however many."""
    # `in_()` binds one parameter per value, and a statement may have at most 32,767 of them
    # (asyncpg refuses more): a lookup of every serial of a 50,000-row import failed. One
    # array also gives the same statement text, so one prepared statement, for any count.
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


def create_engine(
    url: str, *, pool_size: int = 10, statement_timeout_ms: int = 15_000
) -> AsyncEngine:
    """Async engine with a statement timeout so no request hangs on a lock forever."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={
            "timeout": 5,
            "server_settings": {"statement_timeout": str(statement_timeout_ms)},
        },
    )


OUTBOX_TOPIC = "outbox_topic"


def create_session_factory(
    engine: AsyncEngine, *, outbox_topic: str | None = None
) -> async_sessionmaker[AsyncSession]:
    """Session factory; objects stay usable after commit for building responses.

    `outbox_topic` is the service's own topic: every event its sessions add to the outbox goes
    there, so no caller passes a topic around.
    """
    info = {OUTBOX_TOPIC: outbox_topic} if outbox_topic else {}
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info)


async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
