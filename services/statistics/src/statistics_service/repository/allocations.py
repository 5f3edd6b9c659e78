"""SQL of planning's allocations: rounds, per-school numbers, and deliveries by order reference.

Writes name their tables through `ProjectionTables`, so the rebuild writes its shadow copies
the same way. Every write is guarded (a number only by a newer round version, an order only by
a later time), so repeated and late events change nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from statistics_service.models import AllocationLine, AllocationRound, DeviceOrderCount
from statistics_service.repository.projection import LIVE, ProjectionTables


class AllocationRepository:
    """Allocation rounds and lines of one `ProjectionTables`."""

    def __init__(self, session: AsyncSession, tables: ProjectionTables = LIVE) -> None:
        self.session, self.tables = session, tables

    def _name(self, table: str) -> str:
        return self.tables[table].name

    async def upsert_round(self, values: dict[str, Any]) -> None:
        """Insert the round, or replace it by a newer version."""
        table = self._name("allocation_round")
        columns = list(values)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "round_id")
        await self.session.execute(
            text(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)}) "
                f"ON CONFLICT (round_id) DO UPDATE SET {updates} "
                f"WHERE {table}.version < EXCLUDED.version"
            ),
            values,
        )

    async def set_allocated(
        self, round_id: uuid.UUID, lines: Sequence[tuple[str, str, int]], version: int
    ) -> None:
        """Set (municipality, institution, allocated) where the stored number is older."""
        if not lines:
            return
        table = self._name("allocation_line")
        await self.session.execute(
            text(
                f"INSERT INTO {table} (round_id, municipality_code, institution_number, "
                "allocated, allocated_version, ordered) "
                "SELECT :round_id, m, i, a, :version, 0 FROM unnest(CAST(:ms AS varchar[]), "
                "CAST(:is AS varchar[]), CAST(:allocated AS integer[])) AS u(m, i, a) "
                "ON CONFLICT (round_id, institution_number) DO UPDATE SET "
                "allocated = EXCLUDED.allocated, allocated_version = EXCLUDED.allocated_version, "
                "municipality_code = EXCLUDED.municipality_code "
                f"WHERE {table}.allocated_version < EXCLUDED.allocated_version"
            ),
            {
                "round_id": round_id,
                "version": version,
                "ms": [m for m, _, _ in lines],
                "is": [i for _, i, _ in lines],
                "allocated": [a for _, _, a in lines],
            },
        )

    async def clear_unlisted(
        self, round_id: uuid.UUID, listed: Sequence[str], version: int
    ) -> None:
        """Schools a publication leaves out have none (unless a newer number came already)."""
        table = self._name("allocation_line")
        await self.session.execute(
            text(
                f"UPDATE {table} SET allocated = 0, allocated_version = :version "
                "WHERE round_id = :round_id AND allocated_version < :version "
                "AND NOT (institution_number = ANY(CAST(:listed AS varchar[])))"
            ),
            {"round_id": round_id, "version": version, "listed": list(listed)},
        )

    async def set_ordered(
        self, round_id: uuid.UUID, where: tuple[str, str], ordered: int, at: dt.datetime
    ) -> None:
        """Record a school's order figure unless a later one is stored."""
        table = self._name("allocation_line")
        await self.session.execute(
            text(
                f"INSERT INTO {table} (round_id, municipality_code, institution_number, "
                "allocated, allocated_version, ordered, ordered_at) "
                "VALUES (:round_id, :m, :i, 0, -1, :ordered, :at) "
                "ON CONFLICT (round_id, institution_number) DO UPDATE SET "
                "ordered = EXCLUDED.ordered, ordered_at = EXCLUDED.ordered_at "
                f"WHERE {table}.ordered_at IS NULL OR {table}.ordered_at < EXCLUDED.ordered_at"
            ),
            {"round_id": round_id, "m": where[0], "i": where[1], "ordered": ordered, "at": at},
        )

    async def rounds(self) -> Sequence[AllocationRound]:
        """Every published round, newest first."""
        stmt = select(AllocationRound).order_by(
            AllocationRound.published_at.desc(), AllocationRound.round_id
        )
        return (await self.session.scalars(stmt)).all()

    async def get_round(self, round_id: uuid.UUID) -> AllocationRound | None:
        """A published round."""
        return await self.session.get(AllocationRound, round_id)

    async def lines(self, round_ids: Sequence[uuid.UUID]) -> Sequence[AllocationLine]:
        """The lines of these rounds."""
        stmt = select(AllocationLine).where(AllocationLine.round_id.in_(round_ids))
        return (await self.session.scalars(stmt)).all()

    async def delivered(self, references: Sequence[str]) -> list[tuple[str, str, str, int]]:
        """(order reference, municipality, institution, devices) delivered under these."""
        c = DeviceOrderCount
        stmt = select(c.order_reference, c.municipality_code, c.institution_number, c.n).where(
            c.order_reference.in_(references), c.n != 0
        )
        return [(r, m, i, n) for r, m, i, n in (await self.session.execute(stmt)).all()]
