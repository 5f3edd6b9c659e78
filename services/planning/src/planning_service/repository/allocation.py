"""All SQL of the allocation part."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from planning_service.models.allocation import (
    AllocationInput,
    AllocationLine,
    AllocationRound,
    AllocationState,
    AllocationTransfer,
    HeldDevice,
    TransferKind,
)
from shared_kit.db import any_of
from shared_kit.pagination import fetch_page
from shared_kit.readmodel import upsert_if_newer

# Devices that are gone do not count as held.
GONE_STATUSES = ("lost", "stolen", "written_off")


@dataclass(frozen=True, slots=True)
class Totals:
    """A round's totals over its lines."""

    allocated: int
    schools: int  # with at least one device
    municipalities: int  # with at least one device


@dataclass(frozen=True, slots=True)
class MunicipalityRow:
    """One municipality's sums over its schools' lines."""

    municipality_code: str
    schools: int
    eligible_pupils: int
    need: int
    allocated: int


class RoundRepository:
    """Allocation rounds."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, round_: AllocationRound) -> None:
        """Stage a new round."""
        self.session.add(round_)

    @staticmethod
    def touch(round_: AllocationRound, now: dt.datetime) -> None:
        """Mark the round changed (its version counts every change, even to equal values)."""
        round_.updated_at = now
        flag_modified(round_, "updated_at")

    async def get(self, round_id: uuid.UUID, *, lock: bool = False) -> AllocationRound | None:
        """A round by id (locked for the transaction when asked)."""
        if not lock:
            return await self.session.get(AllocationRound, round_id)
        stmt = (
            select(AllocationRound)
            .where(AllocationRound.id == round_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(stmt)

    async def page(
        self,
        *,
        states: Sequence[AllocationState],
        cursor: str | None,
        limit: int,
    ) -> Sequence[AllocationRound]:
        """Rounds in the given states, oldest first."""
        stmt = select(AllocationRound).where(AllocationRound.state.in_(states))
        columns = [AllocationRound.created_at, AllocationRound.id]
        return await fetch_page(self.session, stmt, columns, cursor, limit)


class InputRepository:
    """A round's stored inputs, one row per school."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace(self, round_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
        """Replace the round's inputs with `rows`."""
        await self.session.execute(
            delete(AllocationInput).where(AllocationInput.round_id == round_id)
        )
        if rows:
            await self.session.execute(insert(AllocationInput), rows)

    async def all(self, round_id: uuid.UUID) -> Sequence[AllocationInput]:
        """Every school's inputs, by registration number."""
        stmt = (
            select(AllocationInput)
            .where(AllocationInput.round_id == round_id)
            .order_by(AllocationInput.institution_number)
        )
        return (await self.session.scalars(stmt)).all()

    async def exist(self, round_id: uuid.UUID) -> bool:
        """Whether the round's inputs were taken."""
        stmt = select(AllocationInput.institution_number).where(
            AllocationInput.round_id == round_id
        )
        return await self.session.scalar(stmt.limit(1)) is not None

    async def page(
        self,
        round_id: uuid.UUID,
        *,
        municipalities: frozenset[str] | None,
        cursor: str | None,
        limit: int,
    ) -> Sequence[AllocationInput]:
        """One page of the inputs (of some municipalities only, when given)."""
        stmt = select(AllocationInput).where(AllocationInput.round_id == round_id)
        if municipalities is not None:
            stmt = stmt.where(any_of(AllocationInput.municipality_code, sorted(municipalities)))
        columns = [AllocationInput.institution_number]
        return await fetch_page(self.session, stmt, columns, cursor, limit)


class LineRepository:
    """A round's computed lines."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace(self, round_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
        """Replace the round's lines with `rows`."""
        await self.session.execute(
            delete(AllocationLine).where(AllocationLine.round_id == round_id)
        )
        if rows:
            await self.session.execute(insert(AllocationLine), rows)

    async def page(
        self,
        round_id: uuid.UUID,
        *,
        municipalities: frozenset[str] | None,
        institution: str | None,
        cursor: str | None,
        limit: int,
    ) -> Sequence[AllocationLine]:
        """One page of lines by municipality and school."""
        stmt = select(AllocationLine).where(AllocationLine.round_id == round_id)
        if municipalities is not None:
            stmt = stmt.where(any_of(AllocationLine.municipality_code, sorted(municipalities)))
        if institution is not None:
            stmt = stmt.where(AllocationLine.institution_number == institution)
        columns = [AllocationLine.municipality_code, AllocationLine.institution_number]
        return await fetch_page(self.session, stmt, columns, cursor, limit)

    async def all(self, round_id: uuid.UUID) -> Sequence[AllocationLine]:
        """Every line of the round, by school."""
        stmt = (
            select(AllocationLine)
            .where(AllocationLine.round_id == round_id)
            .order_by(AllocationLine.institution_number)
        )
        return (await self.session.scalars(stmt)).all()

    async def locked(
        self, round_id: uuid.UUID, numbers: Iterable[str]
    ) -> dict[str, AllocationLine]:
        """The schools' lines, locked in a fixed order (no deadlock between two transfers)."""
        stmt = (
            select(AllocationLine)
            .where(
                AllocationLine.round_id == round_id,
                any_of(AllocationLine.institution_number, sorted(set(numbers))),
            )
            .order_by(AllocationLine.institution_number)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {line.institution_number: line for line in await self.session.scalars(stmt)}

    async def totals(self, round_id: uuid.UUID) -> Totals:
        """Allocated devices and the schools and municipalities that get any."""
        served = AllocationLine.allocated > 0
        stmt = select(
            func.coalesce(func.sum(AllocationLine.allocated), 0),
            func.count().filter(served),
            func.count(AllocationLine.municipality_code.distinct()).filter(served),
        ).where(AllocationLine.round_id == round_id)
        allocated, schools, municipalities = (await self.session.execute(stmt)).one()
        return Totals(int(allocated), int(schools), int(municipalities))

    async def by_municipality(
        self, round_id: uuid.UUID, municipalities: frozenset[str] | None
    ) -> list[MunicipalityRow]:
        """Each municipality's sums, by code."""
        line = AllocationLine
        stmt = (
            select(
                line.municipality_code,
                func.count(),
                func.sum(line.eligible_total),
                func.sum(case((line.pooled, 0), else_=line.need)),
                func.sum(line.allocated),
            )
            .where(line.round_id == round_id)
            .group_by(line.municipality_code)
            .order_by(line.municipality_code)
        )
        if municipalities is not None:
            stmt = stmt.where(any_of(line.municipality_code, sorted(municipalities)))
        rows = (await self.session.execute(stmt)).all()
        return [MunicipalityRow(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]


class TransferRepository:
    """Adjustments and moves, the audit of every change after the computation."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, transfer: AllocationTransfer) -> None:
        """Stage a transfer."""
        self.session.add(transfer)

    async def page(
        self,
        round_id: uuid.UUID,
        kind: TransferKind,
        *,
        municipalities: frozenset[str] | None,
        cursor: str | None,
        limit: int,
    ) -> Sequence[AllocationTransfer]:
        """One page of a round's transfers of one kind, oldest first."""
        t = AllocationTransfer
        stmt = select(t).where(t.round_id == round_id, t.kind == kind)
        if municipalities is not None:
            codes = sorted(municipalities)
            stmt = stmt.where(any_of(t.from_municipality, codes) | any_of(t.to_municipality, codes))
        return await fetch_page(self.session, stmt, [t.at, t.id], cursor, limit)

    async def net_adjustments(self, round_id: uuid.UUID) -> dict[str, int]:
        """School → devices adjusted in (positive) or out (negative) by the programme manager."""
        t = AllocationTransfer
        sums: dict[str, int] = {}
        stmt = select(t.from_institution, t.to_institution, t.quantity).where(
            t.round_id == round_id, t.kind == TransferKind.ADJUSTMENT
        )
        for source, target, quantity in await self.session.execute(stmt):
            sums[source] = sums.get(source, 0) - quantity
            sums[target] = sums.get(target, 0) + quantity
        return sums


class HeldDeviceRepository:
    """Planning's copy of the inventory's devices."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert_if_newer(self, values: dict[str, Any]) -> bool:
        """Insert or replace a device unless the stored snapshot is as new; True if applied."""
        return await upsert_if_newer(self.session, HeldDevice, values, version="inventory_version")

    async def counts(self, numbers: Iterable[str]) -> list[tuple[str, int, int]]:
        """(school, levels mask, devices) of the devices the schools hold (none gone)."""
        d = HeldDevice
        stmt = (
            select(d.institution_number, d.levels_mask, func.count())
            .where(
                any_of(d.institution_number, sorted(set(numbers))),
                d.status.not_in(GONE_STATUSES),
            )
            .group_by(d.institution_number, d.levels_mask)
        )
        return [(str(n), int(m), int(c)) for n, m, c in await self.session.execute(stmt)]
