"""SQL of the consumer positions: the highest offset per partition the projection reflects."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.events.consumer import Delivery
from statistics_service.models import ProjectionPosition


class PositionRepository:
    """Reads and advances `projection_position`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> dict[tuple[str, int], int]:
        """Every stored position, by (topic, partition)."""
        rows = await self.session.execute(
            select(
                ProjectionPosition.topic, ProjectionPosition.partition, ProjectionPosition.offset
            )
        )
        return {(r.topic, r.partition): r.offset for r in rows}

    async def unseen(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """The deliveries above their partition's position (a rebuild may have applied more)."""
        partitions = {(d.topic, d.partition) for d in deliveries}
        if not partitions:
            return []
        rows = await self.session.execute(
            select(
                ProjectionPosition.topic, ProjectionPosition.partition, ProjectionPosition.offset
            ).where(tuple_(ProjectionPosition.topic, ProjectionPosition.partition).in_(partitions))
        )
        reached = {(r.topic, r.partition): r.offset for r in rows}
        return [d for d in deliveries if d.offset > reached.get((d.topic, d.partition), -1)]

    async def advance(self, deliveries: Sequence[Delivery]) -> None:
        """Raise each partition's position to the highest offset among the deliveries."""
        highest: dict[tuple[str, int], int] = {}
        for d in deliveries:
            key = (d.topic, d.partition)
            highest[key] = max(highest.get(key, -1), d.offset)
        await self.set(highest, only_up=True)

    async def set(self, positions: dict[tuple[str, int], int], *, only_up: bool) -> None:
        """Store positions; with `only_up` a stored higher offset is kept."""
        if not positions:
            return
        rows = [{"topic": t, "partition": p, "offset": o} for (t, p), o in positions.items()]
        stmt = insert(ProjectionPosition).values(rows)
        new = stmt.excluded.offset
        offset = func.greatest(ProjectionPosition.offset, new) if only_up else new
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["topic", "partition"],
                set_={"offset": offset, "updated_at": func.now()},
            )
        )

    async def clear(self) -> None:
        """Forget every position (the rebuild replaces them all)."""
        await self.session.execute(text(f"DELETE FROM {ProjectionPosition.__tablename__}"))
