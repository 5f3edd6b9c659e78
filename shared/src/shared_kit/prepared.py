"""Statements of a hot path, compiled once and run by asyncpg itself.

SQLAlchemy's work around one execution (the session, the compiled cache's key, the cursor
adapter, the result's processing) costs about 0.1 ms of CPU, as much as asyncpg's own part
(measured in process on tickets' report, 3,000 runs each). A request of one or two statements
pays it once or twice: a tenth of a ticket report's server CPU (`bench tickets`).

A `Prepared` statement works out its SQL, its parameters' order and their types' bind
processing (an enum's value, JSON as text) once; each run binds the values and sends the
statement on the session's own connection, in the session's transaction (or alone, under
`db.statements_commit_alone`), through asyncpg's cache of prepared statements. Rows come back
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

_DIALECT = asyncpg_dialect()
# SQLSTATE classes SQLAlchemy raises as a subclass (by the asyncpg error's class, as here).
_SUBCLASSES: dict[str, type[DBAPIError]] = {"23": IntegrityError, "22": DataError}


class Prepared:
    """One Core statement (`statement`), compiled for asyncpg once."""

    def __init__(self, statement: Executable) -> None:
        compiled = statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
        self.sql = str(compiled)
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        binds = {name: compiled.binds[name] for name in self._names}
        # The statement's own values (a LIMIT, a function's literal argument).
        self._fixed = {name: bind.value for name, bind in binds.items() if not bind.required}
        self._processors: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(self._names):
            process = binds[name].type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
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

    async def fetchrow(
        self, session: AsyncSession, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        """The first row, or None."""
        args = self.args(params)
        connection = await session.connection()
        driver = await _driver(connection)
        try:
            return await driver.fetchrow(self.sql, *args)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            raise await _translated(connection, driver, self.sql, error) from error

    async def execute(self, session: AsyncSession, params: Mapping[str, Any]) -> None:
        """Run it for its effect."""
        args = self.args(params)
        connection = await session.connection()
        driver = await _driver(connection)
        try:
            await driver.execute(self.sql, *args)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            raise await _translated(connection, driver, self.sql, error) from error


async def _driver(connection: AsyncConnection) -> asyncpg.Connection:
    """asyncpg's connection under `connection`, its transaction begun as SQLAlchemy's cursor
    would have begun it (nothing to begin in autocommit)."""
    adapted: Any = (await connection.get_raw_connection()).dbapi_connection
    if adapted._transaction is None:
        await adapted._start_transaction()
    driver: asyncpg.Connection = adapted.driver_connection
    return driver


async def _translated(
    connection: AsyncConnection, driver: asyncpg.Connection, sql: str, error: Exception
) -> DBAPIError:
    """The error as SQLAlchemy raises it (the parameters left out: they may be personal)."""
    lost = driver.is_closed() or isinstance(error, OSError)
    if lost:
        await connection.invalidate(error)
    kind = _SUBCLASSES.get(str(getattr(error, "sqlstate", None) or "")[:2], DBAPIError)
    return kind(sql, None, error, hide_parameters=True, connection_invalidated=lost)
