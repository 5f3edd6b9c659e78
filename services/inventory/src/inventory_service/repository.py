"""SQL of the inventory (device searches: search_repository; imports: import_repository)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from inventory_service.models import (
    CatalogueItem,
    Category,
    Device,
    DeviceHistory,
    DeviceHold,
    Institution,
    Municipality,
    OperatingSystem,
)
from shared_kit.db import any_of
from shared_kit.pagination import fetch_page
from shared_kit.tenancy import Scope


class MunicipalityRepository:
    """Municipalities."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_code(self, code: str) -> Municipality | None:
        """The municipality with this ATVK code."""
        return await self.session.scalar(select(Municipality).where(Municipality.code == code))

    async def ids_for_codes(self, codes: Iterable[str]) -> list[uuid.UUID]:
        """Ids of the municipalities with these codes."""
        rows = await self.session.scalars(
            select(Municipality.id).where(Municipality.code.in_(list(codes)))
        )
        return list(rows)

    async def page(self, scope: Scope, cursor: str | None, limit: int) -> Sequence[Municipality]:
        """A page of the municipalities inside the scope, by code."""
        stmt = select(Municipality)
        if (tenancy := scope.condition(municipality=Municipality.code)) is not None:
            stmt = stmt.where(tenancy)
        return await fetch_page(self.session, stmt, [Municipality.code], cursor, limit)

    async def lock(self, municipality: Municipality) -> None:
        """Lock the municipality's row for the rest of the transaction (one import at a time)."""
        await self.session.execute(
            select(Municipality.id).where(Municipality.id == municipality.id).with_for_update()
        )

    async def institution_counts(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Municipality id → how many institutions it has (only those with any)."""
        rows = await self.session.execute(
            select(Institution.municipality_id, func.count())
            .where(Institution.municipality_id.in_(list(ids)))
            .group_by(Institution.municipality_id)
        )
        return {municipality_id: count for municipality_id, count in rows.all()}


class InstitutionRepository:
    """Education institutions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_number(self, number: str) -> Institution | None:
        """The institution with this registration number, with its municipality."""
        return await self.session.scalar(
            select(Institution)
            .options(joinedload(Institution.municipality))
            .where(Institution.registration_number == number)
        )

    async def by_numbers(self, numbers: Iterable[str]) -> dict[str, Institution]:
        """Registration number → institution, for those of these numbers that exist."""
        rows = await self.session.scalars(
            select(Institution).where(any_of(Institution.registration_number, numbers))
        )
        return {i.registration_number: i for i in rows}

    async def page(
        self, scope: Scope, municipality_code: str | None, cursor: str | None, limit: int
    ) -> Sequence[Institution]:
        """A page of the institutions inside the scope (of one municipality), by number."""
        stmt = select(Institution).join(Institution.municipality)
        tenancy = scope.condition(
            municipality=Municipality.code, institution=Institution.registration_number
        )
        if tenancy is not None:
            stmt = stmt.where(tenancy)
        if municipality_code:
            stmt = stmt.where(Municipality.code == municipality_code)
        columns = [Institution.registration_number]
        return await fetch_page(self.session, stmt, columns, cursor, limit)


class CatalogueRepository:
    """Catalogue items."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_code(self, code: str) -> CatalogueItem | None:
        """The catalogue item with this code."""
        return await self.session.scalar(select(CatalogueItem).where(CatalogueItem.code == code))

    async def by_codes(self, codes: Iterable[str]) -> dict[str, CatalogueItem]:
        """Code → catalogue item, for those of these codes that exist."""
        rows = await self.session.scalars(
            select(CatalogueItem).where(any_of(CatalogueItem.code, codes))
        )
        return {c.code: c for c in rows}

    async def page(
        self,
        category: Category | None,
        os: OperatingSystem | None,
        active: bool | None,
        cursor: str | None,
        limit: int,
    ) -> Sequence[CatalogueItem]:
        """A page of catalogue items matching the filters, by code."""
        stmt = select(CatalogueItem)
        if category:
            stmt = stmt.where(CatalogueItem.category == category)
        if os:
            stmt = stmt.where(CatalogueItem.os == os)
        if active is not None:
            stmt = stmt.where(CatalogueItem.active == active)
        return await fetch_page(self.session, stmt, [CatalogueItem.code], cursor, limit)


class DeviceRepository:
    """Devices, their history and imports."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def hold(self, device_id: uuid.UUID, reservation_id: uuid.UUID) -> None:
        """Record a reservation's hold on a device (nothing when already recorded)."""
        stmt = pg_insert(DeviceHold).values(device_id=device_id, reservation_id=reservation_id)
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def release(self, device_id: uuid.UUID, reservation_id: uuid.UUID) -> None:
        """Release a reservation's hold, leaving a tombstone if it was never recorded."""
        stmt = pg_insert(DeviceHold).values(
            device_id=device_id, reservation_id=reservation_id, released_at=func.now()
        )
        done = {"released_at": func.coalesce(DeviceHold.released_at, func.now())}
        await self.session.execute(stmt.on_conflict_do_update(index_elements=[
            DeviceHold.device_id, DeviceHold.reservation_id], set_=done))  # fmt: skip

    async def drop(self, device_id: uuid.UUID, reservation_id: uuid.UUID) -> None:
        """Forget a reservation's hold, leaving no tombstone: for its own events, which come in
        order, so that a later approval of it (the same device offered again) holds anew."""
        stmt = delete(DeviceHold).where(
            DeviceHold.device_id == device_id, DeviceHold.reservation_id == reservation_id
        )
        await self.session.execute(stmt)

    async def is_held(self, device_id: uuid.UUID) -> bool:
        """Whether any reservation still holds the device."""
        stmt = select(DeviceHold.device_id).where(
            DeviceHold.device_id == device_id, DeviceHold.released_at.is_(None)
        )
        return await self.session.scalar(stmt.limit(1)) is not None

    async def purge_released_holds(self, before: dt.datetime) -> int:
        """Delete holds released before `before`; how many."""
        stmt = delete(DeviceHold).where(DeviceHold.released_at < before)
        return int((await self.session.execute(stmt)).rowcount or 0)  # type: ignore[attr-defined]

    async def get(self, device_id: uuid.UUID, *, for_update: bool = False) -> Device | None:
        """A device with its municipality, institution and catalogue item."""
        stmt = (
            select(Device)
            .options(
                joinedload(Device.municipality),
                joinedload(Device.institution),
                joinedload(Device.catalogue_item),
            )
            .where(Device.id == device_id)
        )
        if for_update:
            stmt = stmt.with_for_update(of=Device)
        return await self.session.scalar(stmt)

    async def serial_exists(self, serial: str) -> bool:
        """Whether a device has this serial number."""
        found = await self.session.scalar(select(Device.id).where(Device.serial_number == serial))
        return found is not None

    async def tag_exists(self, municipality_id: uuid.UUID, tag: str) -> bool:
        """Whether a device of the municipality has this asset tag."""
        found = await self.session.scalar(
            select(Device.id).where(
                Device.municipality_id == municipality_id, Device.asset_tag == tag
            )
        )
        return found is not None

    async def existing_serials(self, serials: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Serial → (municipality id, asset tag) for serials already registered."""
        rows = await self.session.execute(
            select(Device.serial_number, Device.municipality_id, Device.asset_tag).where(
                any_of(Device.serial_number, serials)
            )
        )
        return {
            r.serial_number: {"municipality_id": r.municipality_id, "asset_tag": r.asset_tag}
            for r in rows
        }

    async def existing_tags(self, municipality_id: uuid.UUID, tags: Sequence[str]) -> set[str]:
        """Those of these asset tags the municipality's devices already use."""
        rows = await self.session.scalars(
            select(Device.asset_tag).where(
                Device.municipality_id == municipality_id, any_of(Device.asset_tag, tags)
            )
        )
        return set(rows)

    def add(self, device: Device) -> None:
        """Add a new device to the session."""
        self.session.add(device)

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        """Bulk insert plain rows (imports); ORM defaults do not apply."""
        # A Core insert on the table: the ORM's bulk insert drops None values and batches only
        # runs of rows with the same keys, so rows with and without e.g. an institution mixed
        # in one file became thousands of small INSERTs instead of a few multi-row ones.
        for start in range(0, len(rows), 2000):
            await self.session.execute(insert(Device.__table__), rows[start : start + 2000])


class HistoryRepository:
    """Per-device change log."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: DeviceHistory) -> None:
        """Add a history entry to the session."""
        self.session.add(entry)

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        """Bulk insert plain history rows (imports)."""
        for start in range(0, len(rows), 2000):
            await self.session.execute(insert(DeviceHistory), rows[start : start + 2000])

    async def for_device(
        self, device_id: uuid.UUID, cursor: str | None, limit: int
    ) -> Sequence[DeviceHistory]:
        """A page of a device's history, in order."""
        stmt = select(DeviceHistory).where(DeviceHistory.device_id == device_id)
        columns = [DeviceHistory.seq]
        return await fetch_page(self.session, stmt, columns, cursor, limit)
