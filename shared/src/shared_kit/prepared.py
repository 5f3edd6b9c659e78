"""Statements of a hot path, compiled once and run by asyncpg itself.

SQLAlchemy's work around one execution (the session, the compiled cache's key, the cursor
adapter, the result's processing) costs about 0.1 ms of CPU, as much as asyncpg's own part
(measured in process on tickets' report, 3,000 runs each). A request of one or two statements
pays it once or twice: a tenth of a ticket report's server CPU (`bench tickets`).

A `Prepared` statement works out its SQL, its parameters' order and their types' bind
processing (an enum's value, JSON as text) once; each run binds the values and sends the
statement on the session's own connection, in the session's transaction (or alone, under
`db.statements_commit_alone`), through asyncpg's cache of prepared statements. Listeners of
the engine's `before_cursor_execute` hear it as they hear SQLAlchemy's statements, without a
cursor or an execution context. Rows come back
as asyncpg records, values as the driver decodes them (an enum as its text). A database error
is raised as SQLAlchemy's `DBAPIError`, so the problem handlers answer it as any other, and a
connection that broke is invalidated, as SQLAlchemy would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.expression import Executable

from shared_kit.problems import UNREACHABLE_SQLSTATES

_DIALECT = asyncpg_dialect()
# SQLSTATE classes SQLAlchemy raises as a subclass (by the asyncpg error's class, as here).
_SUBCLASSES: dict[str, type[DBAPIError]] = {"23": IntegrityError, "22": DataError}


class Prepared:
    """One Core statement (`statement`), compiled for asyncpg once."""

    def __init__(self, statement: Executable) -> None:
        compiled = statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
        binds = compiled.binds
        given = {name for name, bind in binds.items() if bind.required}  # at each call
        if any(binds[name].expanding for name in given):
            raise ValueError("an IN list given at each call changes the SQL: use db.any_of")
        # The statement's own IN lists become one parameter a value, as SQLAlchemy sends them.
        expanded = compiled.construct_expanded_state(dict.fromkeys(given))
        self.sql = expanded.statement
        self._names: tuple[str, ...] = tuple(expanded.positiontup or ())
        # The statement's own values (a LIMIT, a function's literal argument, an IN list's).
        self._fixed = {n: v for n, v in expanded.parameters.items() if n not in given}
        origin = {new: old for old, news in expanded.parameter_expansion.items() for new in news}
        self._processors: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(self._names):
            kind = binds[origin.get(name, name)].type.dialect_impl(_DIALECT)
            process = kind.bind_processor(_DIALECT)
            if process is not None:
                self._processors.append((index, process))

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional values for `params` (by bind name), as asyncpg takes them."""
        try:
            args = [params[n] if n in params else self._fixed[n] for n in self._names]
        except KeyError as missing:
            raise ValueError(f"no value for the statement's parameter {missing}") from None
        for index, process in self._processors:
            args[index] = process(args[index])
        return args

    async def fetch(self, session: AsyncSession, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        """All the rows."""
        rows: list[asyncpg.Record] = await self._run(session, "fetch", params)
        return rows

    async def fetchrow(
        self, session: AsyncSession, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        """The first row, or None."""
        row: asyncpg.Record | None = await self._run(session, "fetchrow", params)
        return row

    async def execute(self, session: AsyncSession, params: Mapping[str, Any]) -> None:
        """Run it for its effect."""
        await self._run(session, "execute", params)

    async def _run(self, session: AsyncSession, method: str, params: Mapping[str, Any]) -> Any:
        args = self.args(params)
        connection, adapted = await _connection_of(session)
        sync = connection.sync_connection
        assert sync is not None
        if sync.dispatch.before_cursor_execute:  # listeners see it as SQLAlchemy's own (no cursor)
            sync.dispatch.before_cursor_execute(sync, None, self.sql, tuple(args), None, False)
        try:
            return await getattr(adapted.driver_connection, method)(self.sql, *args)
        except Exception as error:  # as SQLAlchemy's adapter: whatever the driver raised
            raise await _translated(connection, adapted, self.sql, error) from error


# Where a session keeps the connection its statements run on (`session.info`).
_HELD = "shared_kit.prepared.connection"


async def _connection_of(session: AsyncSession) -> tuple[AsyncConnection, Any]:
    """The session's connection and its asyncpg adapter, its transaction begun as SQLAlchemy's
    cursor would have begun it (nothing to begin in autocommit).

    Looked up once per transaction of the session: each lookup through SQLAlchemy's async API
    runs in a greenlet of its own (about 10 µs of CPU, a frame stack mapped and unmapped), and
    a request's later statements reuse what the first found while the session's transaction
    is the same one (a commit or rollback ends it) and the connection was not invalidated."""
    transaction = session.sync_session.get_transaction()
    held = session.info.get(_HELD)
    if (
        held is None
        or transaction is None
        or held[0] is not transaction
        or held[1].sync_connection.invalidated
    ):
        held = remember(session, await session.connection())
    connection, adapted = held[1], held[2]
    # The adapter has no public way to begin its transaction: these are its own attributes
    # (SQLAlchemy 2.0 and 2.1); test_prepared's TestTransactions fails if they change.
    if adapted._transaction is None:
        await adapted._start_transaction()
    return connection, adapted


def remember(session: AsyncSession, connection: AsyncConnection) -> tuple[Any, ...]:
    """Keep `connection`, just looked up for `session`, for the statements of its transaction
    (`db.statements_commit_alone` looks it up first)."""
    sync = connection.sync_connection
    assert sync is not None
    adapted: Any = sync.connection.dbapi_connection  # checked out: no I/O to reach it
    held = (session.sync_session.get_transaction(), connection, adapted)
    session.info[_HELD] = held
    return held


async def _translated(
    connection: AsyncConnection, adapted: Any, sql: str, error: Exception
) -> DBAPIError:
    """The error as SQLAlchemy raises it (the parameters left out: they may be personal); a
    connection that broke is invalidated, its transaction forgotten, as SQLAlchemy does."""
    sqlstate = str(getattr(error, "sqlstate", None) or "")
    # Closed, or about to be (the server's "terminating connection" may arrive before asyncpg
    # has seen the socket close), or in a state asyncpg's protocol cannot go on from.
    lost = (
        adapted.driver_connection.is_closed()
        or isinstance(error, OSError | asyncpg.InternalClientError)
        or sqlstate.startswith(UNREACHABLE_SQLSTATES)
    )
    if lost:
        adapted._transaction = None
        await connection.invalidate(error)
    kind = _SUBCLASSES.get(sqlstate[:2], DBAPIError)
    return kind(sql, None, error, hide_parameters=True, connection_invalidated=lost)
