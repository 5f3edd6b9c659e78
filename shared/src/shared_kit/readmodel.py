"""Read models of another service's aggregates, kept from its events.

A snapshot is applied only when its version is newer than the stored one, so replayed and
out-of-order events change nothing, and two replicas applying the same snapshot agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession


async def upsert_if_newer(
    session: AsyncSession, model: Any, values: dict[str, Any], *, version: str = "source_version"
) -> bool:
    """Insert or update a row by `id` unless the stored `version` is as new; True if applied."""
    stmt = insert(model).values(**values)
    changes: dict[str, Any] = {k: stmt.excluded[k] for k in values if k != "id"}
    if "updated_at" in model.__table__.c and "updated_at" not in values:
        changes["updated_at"] = func.now()
    column = model.__table__.c[version]
    upsert = stmt.on_conflict_do_update(
        index_elements=[model.__table__.c.id],
        set_=changes,
        where=column < stmt.excluded[version],
    ).returning(model.__table__.c.id)
    return await session.scalar(upsert) is not None
