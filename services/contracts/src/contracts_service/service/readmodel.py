"""The device read model: the inventory's devices as its events last described them.

A snapshot is applied only when its `inventory_version` is newer than the stored one, so
replayed and out-of-order events change nothing. Fields the inventory's snapshot may not carry
(manufacturer, model, accessories, purchase price) are None or empty when absent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from contracts_service.repository import DeviceRepository


@dataclass(frozen=True)
class Snapshot:
    """The fields of the inventory's device snapshot a contract prints."""

    id: uuid.UUID
    inventory_version: int
    asset_tag: str
    serial_number: str
    municipality_code: str
    institution_number: str | None
    catalogue_item_code: str
    category: str
    status: str
    manufacturer: str | None = None
    model: str | None = None
    accessories: list[str] = field(default_factory=list)
    purchase_price: Decimal | None = None
    insured_until: dt.date | None = None


async def apply_snapshot(session: AsyncSession, snapshot: Snapshot) -> bool:
    """Store a device snapshot if it is newer than the one we have; True when applied."""
    return await DeviceRepository(session).upsert_if_newer(asdict(snapshot))
