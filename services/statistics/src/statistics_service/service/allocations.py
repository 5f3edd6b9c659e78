"""Planning's allocation rounds as statistics counts them: allocated, ordered, delivered.

- `allocation.published` stores the round and every school's number; schools it leaves out
  have none. `allocation.adjusted` / `allocation.moved` set the two schools' numbers after the
  change. A number is only replaced by one of a newer round version, so repeated and late
  events change nothing, in any order. `allocation.order_recorded` sets a school's ordered
  figure (the latest by its time counts).
- Delivered: the inventory's devices whose `order_reference` is the round's, counted at their
  current institution, whatever their status (a device written off was still delivered); see
  the projection's `device_order_count`.

Applied in the caller's transaction under the projection's writer lock, so the rebuild's swap
never loses a write; the rebuild applies the same changes to its shadow tables.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from statistics_service.repository.allocations import AllocationRepository
from statistics_service.repository.projection import LIVE, ProjectionRepository, ProjectionTables


@dataclass(frozen=True, slots=True)
class Line:
    """A school's number in a round."""

    municipality_code: str
    institution_number: str
    allocated: int

    def row(self) -> tuple[str, str, int]:
        """(municipality, institution, allocated)."""
        return (self.municipality_code, self.institution_number, self.allocated)


@dataclass(frozen=True, slots=True)
class Published:
    """A round was published with these schools' numbers."""

    round_id: uuid.UUID
    title: str
    funding_programme: str
    order_reference: str
    devices: int
    state: str
    version: int
    published_at: dt.datetime
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Changed:
    """Two schools' numbers after an adjustment or a move."""

    round_id: uuid.UUID
    version: int
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Ordered:
    """A school's ordered figure."""

    round_id: uuid.UUID
    municipality_code: str
    institution_number: str
    ordered: int
    at: dt.datetime


Change = Published | Changed | Ordered


async def apply_changes(
    session: AsyncSession,
    changes: Sequence[Change],
    tables: ProjectionTables = LIVE,
    *,
    lock: bool = True,
) -> None:
    """Apply allocation changes in the caller's transaction (see the module doc)."""
    if not changes:
        return
    if lock:
        await ProjectionRepository(session, tables).lock()
    repo = AllocationRepository(session, tables)
    for change in changes:
        await _apply(repo, change)
    if tables is LIVE:
        await ProjectionRepository(session).bump_epoch()


async def _apply(repo: AllocationRepository, change: Change) -> None:
    if isinstance(change, Published):
        values = {
            "round_id": change.round_id,
            "title": change.title[:200],
            "funding_programme": change.funding_programme[:200],
            "order_reference": change.order_reference,
            "devices": change.devices,
            "state": change.state[:40],
            "version": change.version,
            "published_at": change.published_at,
        }
        await repo.upsert_round(values)
        await repo.set_allocated(change.round_id, [x.row() for x in change.lines], change.version)
        listed = [x.institution_number for x in change.lines]
        await repo.clear_unlisted(change.round_id, listed, change.version)
    elif isinstance(change, Changed):
        await repo.set_allocated(change.round_id, [x.row() for x in change.lines], change.version)
    else:
        where = (change.municipality_code, change.institution_number)
        await repo.set_ordered(change.round_id, where, change.ordered, change.at)
