"""Database base: one naming convention, UUID keys, timestamps, versions, and sessions."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    MetaData,
    Table,
    any_,
    bindparam,
    event,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    QueryableAttribute,
    Session,
    declared_attr,
    mapped_column,
)
from sqlalchemy.pool import ConnectionPoolEntry

from shared_kit.prepared import remember

T = TypeVar("T")
logger = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; each service process has exactly one service's tables on it."""

    # Every model here maps a Table (SQLAlchemy types `__table__` as any FromClause).
    __table__: ClassVar[Table]
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


# A connection used this recently is taken as alive; one that sat idle in the pool longer is
# pinged before use (HikariCP's alive-bypass window, the same 500 ms). A ping on every checkout
# (pool_pre_ping) cost three round trips per request on asyncpg (BEGIN, `;`, ROLLBACK).
PING_AFTER_IDLE_S = 0.5
_IDLE_SINCE = "shared_kit.idle_since"


# Connections a process keeps, and none beyond them: an overflow connection is closed as soon
# as it comes back to a pool that has `pool_size` idle ones, so a burst above `pool_size` used
# to open and close PostgreSQL backends over and over (each start costs the server a process
# and the client asyncpg's type introspection and fresh prepared statements). A request
# waits for a connection instead (`pool_timeout_s`, then 503 service-busy): a process is
# bound to one core, which a few connections already keep busy, so more in flight only
# queue inside PostgreSQL instead. The cap also bounds a deployment's connections:
# processes times `pool_size` (README, "Database connections").
POOL_SIZE = 10
MAX_OVERFLOW = 0
# As long as a portal waits for a service's answer: past it, nobody waits for this one.
POOL_TIMEOUT_S = 10.0


def create_engine(
    url: str,
    *,
    pool_size: int = POOL_SIZE,
    max_overflow: int = MAX_OVERFLOW,
    pool_timeout_s: float = POOL_TIMEOUT_S,
    statement_timeout_ms: int = 15_000,
    ping_after_idle_s: float = PING_AFTER_IDLE_S,
) -> AsyncEngine:
    """Async engine of at most `pool_size + max_overflow` connections, kept open, with a
    statement timeout so no request hangs on a lock forever; pooled connections idle for
    `ping_after_idle_s` or more are pinged before use."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout_s,
        # The connection used last is taken first: at a steady pace below the pool's capacity a
        # few connections stay warm (no ping), where first in, first out took the one idle the
        # longest and pinged it on nearly every request (three round trips on asyncpg).
        pool_use_lifo=True,
        connect_args={
            "timeout": 5,
            "server_settings": {"statement_timeout": str(statement_timeout_ms)},
        },
    )
    _ping_idle_connections(engine, ping_after_idle_s)
    return engine


async def prefill(engine: AsyncEngine, count: int) -> int:
    """Open `count` connections now and leave them idle in the pool; how many opened.

    A pool otherwise opens its connections when requests first need them, so a process started
    into a peak (a rollout, a scale-up in the first days of a school year) opens them all at
    once, each start competing with the requests for the one core: under that load a
    connection took longer than the connect timeout, and requests answered 503. A connection
    that fails here is logged and opened on demand later, as without the prefill.
    """
    if count < 1:
        return 0
    first = await _opened(engine)  # the dialect's first-connect set-up runs once, alone
    rest = await asyncio.gather(*(_opened(engine) for _ in range(count - 1)))
    opened = [c for c in [first, *rest] if c is not None]
    for connection in opened:
        await connection.close()  # back to the pool, kept open
    if len(opened) < count:
        logger.warning("opened %d of %d database connections at start", len(opened), count)
    return len(opened)


async def _opened(engine: AsyncEngine) -> AsyncConnection | None:
    try:
        return await engine.connect().start()
    except (OSError, TimeoutError, InvalidatePoolError, DBAPIError) as error:
        logger.warning("could not open a database connection at start: %s", type(error).__name__)
        return None


def _ping_idle_connections(engine: AsyncEngine, after_s: float) -> None:
    """Ping a pooled connection on checkout when it has been idle `after_s` or longer; a dead
    one invalidates the pool (as pool_pre_ping does) and the checkout takes a new one."""
    dialect = engine.dialect

    def checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < after_s:
            return  # new, or used moments ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise InvalidatePoolError() from error
            raise

    event.listen(engine.sync_engine, "checkin", checkin)
    event.listen(engine.sync_engine, "checkout", checkout)


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


class ReadSession(Session):
    """A session that only reads: its connection is in autocommit, so it refuses to write."""


@event.listens_for(ReadSession, "do_orm_execute")
def _refuse_writes(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise RuntimeError("A read session does not write (each statement would commit alone)")


@event.listens_for(ReadSession, "before_flush")
def _refuse_flushes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("A read session does not write (each statement would commit alone)")


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read: autocommit, so each statement is a transaction
    of its own (one snapshot, as in BEGIN … COMMIT) without the BEGIN and COMMIT round trips.

    For reads of one statement, or of several that need no common snapshot.
    """
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        autoflush=False,
        sync_session_class=ReadSession,
    )


async def statements_commit_alone(session: AsyncSession) -> None:
    """From here on each statement of `session` is a transaction of its own: no BEGIN and
    COMMIT round trips (two of a lean write's four).

    For a write that is one statement (atomic by itself, its outbox row in it) after reads that
    need no common snapshot with it. Call it before the session's first statement; the
    connection goes back to the pool in its usual mode.
    """
    connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    remember(session, connection)  # for the `Prepared` statements that follow


async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    session = factory()
    try:
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await close(session)


async def close(session: AsyncSession) -> None:
    """Close `session` as `async with` does, but at once when it holds no transaction (after
    its commit or rollback): then there is no connection to give back, nothing to wait for,
    and SQLAlchemy's task and greenlet for the close (about 20 µs of CPU) are not needed."""
    if session.sync_session.get_transaction() is None:
        session.sync_session.close()
    else:  # to completion, even when cancelled meanwhile
        await session.__aexit__(None, None, None)
