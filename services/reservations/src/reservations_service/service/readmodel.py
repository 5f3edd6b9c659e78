"""The inventory read model: devices and institutions from the inventory's device snapshots.

A snapshot is applied only when its `version` is newer than the stored one (the kit's
`upsert_if_newer`), so replayed and out-of-order events change nothing. The institutions the
device leaves and joins are locked first, so allocation there waits for the change. After a
change:
- a device that left service (in repair, lost, stolen, written off) or left the institution
  takes its approved, not yet picked-up reservations with it: each gets another free
  matching device or goes back to the waitlist, keeping its original request time;
- a lendable device (inventory `available` or `reserved`, assigned to an institution) is
  offered to the institution's waitlist, best first. `on_loan` and `in_stock` devices are
  not lendable: a loan's end frees the device once the inventory lists it again.
Attribute changes (category, OS, screen) do not undo allocations already made.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service.repository import (
    LENDABLE_STATUSES,
    OUT_OF_SERVICE_STATUSES,
    DeviceRepository,
    InstitutionRepository,
    Locks,
    ReservationRepository,
)
from reservations_service.service.allocation import rebalance, requeue


@dataclass(frozen=True)
class Snapshot:
    """The fields of the inventory's device snapshot this service keeps."""

    device_id: uuid.UUID
    version: int
    municipality_code: str
    institution_number: str | None
    catalogue_item_code: str
    category: str
    os: str
    screen_inches: Decimal | None
    touch: bool
    status: str


async def apply_snapshot(session: AsyncSession, snapshot: Snapshot, *, now: dt.datetime) -> bool:
    """Apply a device snapshot if it is newer; returns whether it was applied."""
    devices = DeviceRepository(session)
    stored = await devices.placement(snapshot.device_id)
    if stored is not None and stored.version >= snapshot.version:
        return False
    before = stored.institution_number if stored is not None else None
    after = snapshot.institution_number
    await Locks(session).institution(*(n for n in (before, after) if n))
    # The upsert compares versions on the locked row: if a concurrent replica applied a newer
    # snapshot meanwhile, this one changes nothing.
    if not await devices.apply(_columns(snapshot)):
        return False
    if after is not None:
        await InstitutionRepository(session).upsert(after, snapshot.municipality_code)
    out_of_service = snapshot.status in OUT_OF_SERVICE_STATUSES
    if before is not None and (out_of_service or after != before):
        held = await ReservationRepository(session).approved_on(snapshot.device_id)
        leaving = [r for r in held if out_of_service or r.institution_number != after]
        if leaving:
            reason = f"device {snapshot.status}" if out_of_service else "device moved"
            await requeue(session, leaving, now=now, reason=reason)
    if after is not None and snapshot.status in LENDABLE_STATUSES:
        await rebalance(session, institution=after, now=now)
    return True


def _columns(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "id": snapshot.device_id,
        "inventory_version": snapshot.version,
        "municipality_code": snapshot.municipality_code,
        "institution_number": snapshot.institution_number,
        "catalogue_item_code": snapshot.catalogue_item_code,
        "category": snapshot.category,
        "os": snapshot.os,
        "screen_inches": snapshot.screen_inches,
        "touch": snapshot.touch,
        "status": snapshot.status,
    }
