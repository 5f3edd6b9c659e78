"""Read models of another service's aggregates, kept from its events.

A snapshot is applied only when its version is newer than the stored one, so replayed and
out-of-order events change nothing, and two replicas applying the same snapshot agree.

The upsert of a model and a set of columns is built and compiled once (`Prepared`): building
and compiling it for every event cost about 1 ms of CPU, five times its run.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Column, Table, bindparam, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.prepared import Prepared


async def upsert_if_newer(
    session: AsyncSession, model: Any, values: dict[str, Any], *, version: str = "source_version"
) -> bool:
    """Insert or update a row by `id` unless the stored `version` is as new; True if applied.
    A column the values leave out keeps its stored value, or gets its default when inserted."""
    given = tuple(sorted(values))
    upsert, defaulted = _upsert(model.__table__, given, version)
    defaults = {column.name: _default(column) for column in defaulted}
    return await upsert.fetchrow(session, defaults | values) is not None


@cache
def _upsert(table: Table, given: tuple[str, ...], version: str) -> tuple[Prepared, list[Column]]:
    """The upsert of the `given` columns into `table`, and the columns left out that have a
    default in Python (SQLAlchemy fills those in at each execution; the caller does here)."""
    defaulted = [c for c in table.c if c.default is not None and c.name not in given]
    inserted = [*given, *(c.name for c in defaulted)]
    stmt = insert(table).values({c: bindparam(c, type_=table.c[c].type) for c in inserted})
    changes: dict[str, Any] = {c: stmt.excluded[c] for c in given if c != "id"}
    if "updated_at" in table.c and "updated_at" not in given:
        changes["updated_at"] = func.now()
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.id],
        set_=changes,
        where=table.c[version] < stmt.excluded[version],
    ).returning(table.c.id)
    return Prepared(upsert), defaulted


def _default(column: Column) -> Any:
    """A column's Python default, as SQLAlchemy works it out for an insert."""
    default: Any = column.default
    if default.is_scalar:
        return default.arg
    if default.is_callable:
        return default.arg(None)  # SQLAlchemy's wrapper of a callable taking no context
    raise ValueError(f"{column.name}: a snapshot gives a column with a SQL default itself")
