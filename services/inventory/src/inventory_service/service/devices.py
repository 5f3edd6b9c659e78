"""Devices: registration, reads and searches inside the caller's tenancy, and edits."""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service import events
from inventory_service.exceptions import (
    DeviceNotFound,
    DuplicateCode,
    InstitutionOutsideMunicipality,
)
from inventory_service.models import CatalogueItem, Device, Institution, Municipality
from inventory_service.repository import DeviceRepository
from inventory_service.schemas import DeviceCreate, DeviceFilters, DeviceUpdate
from inventory_service.search_repository import DeviceSearchRepository, as_read, read_key
from inventory_service.service import access, catalogue, history, reference
from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match
from shared_kit.pagination import InvalidCursor, encode_cursor
from shared_kit.tenancy import TenantForbidden, actor_of


def warranty_end(
    delivery: dt.date | None, item: CatalogueItem, extra_months: int
) -> dt.date | None:
    """Delivery date + base warranty + catalogue extension + device extension."""
    if delivery is None:
        return None
    months = item.base_warranty_months + int(item.options.get("extra_warranty_months") or 0)
    return add_months(delivery, months + extra_months)


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar month arithmetic, clamping to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


async def register_device(
    *, session: AsyncSession, principal: Principal, data: DeviceCreate
) -> Device:
    """Register one device; history and a `device.registered` event go with it."""
    access.ensure_manages(principal, data.municipality_code)
    municipality = await reference.get_municipality(session=session, code=data.municipality_code)
    item = await catalogue.get_catalogue_item(session=session, code=data.catalogue_item_code)
    institution = await _institution_in(session, data.institution_registration_number, municipality)
    repo = DeviceRepository(session)
    if await repo.serial_exists(data.serial_number):
        raise DuplicateCode(f"A device with serial number {data.serial_number} exists")
    if await repo.tag_exists(municipality.id, data.asset_tag):
        raise DuplicateCode(f"Asset tag {data.asset_tag} is already used in this municipality")
    fields = data.model_dump(
        exclude={"catalogue_item_code", "municipality_code", "institution_registration_number"}
    )
    device = Device(
        id=uuid.uuid4(),
        **fields,
        catalogue_item=item,
        municipality=municipality,
        institution=institution,
        warranty_ends_on=warranty_end(data.delivery_date, item, data.extra_warranty_months),
    )
    repo.add(device)
    await session.flush()
    registered = {
        k: [None, history.as_json(v)] for k, v in fields.items() if v not in (None, [], 0)
    }
    history.record(session, device, actor_of(principal), "registered", registered)
    events.publish(session, events.DEVICE_REGISTERED, device)
    return device


async def _institution_in(
    session: AsyncSession, number: str | None, municipality: Municipality
) -> Institution | None:
    if number is None:
        return None
    institution = await reference.get_institution(session=session, number=number)
    if institution.municipality_id != municipality.id:
        raise InstitutionOutsideMunicipality(
            f"Institution {number} belongs to another municipality"
        )
    return institution


async def update_device(
    *,
    session: AsyncSession,
    principal: Principal,
    device: Device,
    data: DeviceUpdate,
    if_match: str | None,
) -> Device:
    """Change device attributes or its institution; one history entry, matching events."""
    access.ensure_manages(principal, device.municipality.code)
    check_if_match(if_match, device.version)
    changes = _apply_fields(device, data)
    old_institution = await _apply_assignment(session, device, data)
    if "asset_tag" in changes and await DeviceRepository(session).tag_exists(
        device.municipality_id, device.asset_tag
    ):
        raise DuplicateCode(f"Asset tag {device.asset_tag} is already used in this municipality")
    if old_institution is not None:
        changes["institution"] = list(old_institution)
    if not changes:
        return device
    device.warranty_ends_on = warranty_end(
        device.delivery_date, device.catalogue_item, device.extra_warranty_months
    )
    await session.flush()
    history.record(session, device, actor_of(principal), "updated", changes)
    _publish_update(session, device, changes, old_institution)
    return device


def _apply_fields(device: Device, data: DeviceUpdate) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    skip = {"institution_registration_number", "unassign"}
    for name, value in data.model_dump(exclude_unset=True, exclude=skip).items():
        old = getattr(device, name)
        if old != value:
            changes[name] = [history.as_json(old), history.as_json(value)]
            setattr(device, name, value)
    return changes


async def _apply_assignment(
    session: AsyncSession, device: Device, data: DeviceUpdate
) -> tuple[str | None, str | None] | None:
    """Move the device to another institution; returns (old, new) numbers if it moved."""
    old = device.institution.registration_number if device.institution else None
    if data.unassign:
        new_institution = None
    elif data.institution_registration_number is not None:
        new_institution = await _institution_in(
            session, data.institution_registration_number, device.municipality
        )
    else:
        return None
    new = new_institution.registration_number if new_institution else None
    if new == old:
        return None
    device.institution = new_institution
    return (old, new)


def _publish_update(
    session: AsyncSession,
    device: Device,
    changes: dict[str, Any],
    moved: tuple[str | None, str | None] | None,
) -> None:
    if moved is not None:
        events.publish(
            session,
            events.DEVICE_ASSIGNED,
            device,
            from_institution=moved[0],
            to_institution=moved[1],
        )
    fields = sorted(k for k in changes if k != "institution")
    if fields:
        events.publish(session, events.DEVICE_UPDATED, device, changed_fields=fields)


async def get_device(
    *, session: AsyncSession, principal: Principal, device_id: uuid.UUID, for_update: bool = False
) -> Device:
    """A device the principal may see (404 when missing, 403 when outside their tenancy)."""
    device = await DeviceRepository(session).get(device_id, for_update=for_update)
    if device is None:
        raise DeviceNotFound(f"No device with id {device_id}")
    if not access.can_read(principal, device):
        raise TenantForbidden("This device belongs to another municipality or institution")
    return device


@dataclass(frozen=True)
class DeviceSlice:
    """One page of a search (each device as DeviceRead's fields, in its order, ready for
    JSON), with the cursors of the pages after and before it."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    prev_cursor: str | None


async def search_devices(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: DeviceFilters,
    sort: str,
    cursor: str | None,
    before: str | None,
    limit: int,
) -> DeviceSlice:
    """Devices matching the filters inside the principal's scope: the page after `cursor`, or
    the page before `before`."""
    access.ensure_may_search(principal, filters.municipality_code)
    scope = access.scope_for(principal)
    backwards = before is not None
    try:
        rows = await DeviceSearchRepository(session).page(
            filters, scope, sort, before or cursor, limit, backwards=backwards
        )
    except InvalidCursor as exc:
        if not backwards:
            raise
        raise InvalidCursor(parameter="before") from exc
    items, more = list(rows[:limit]), len(rows) > limit
    if backwards:
        items.reverse()
    # Going forwards, a page after a cursor has one before it; going backwards, the page
    # before a cursor has the cursor's page after it.
    earlier, later = (more, True) if backwards else (cursor is not None, more)
    reads = [as_read(row) for row in items]
    return DeviceSlice(
        reads,
        encode_cursor(read_key(sort, reads[-1])) if reads and later else None,
        encode_cursor(read_key(sort, reads[0])) if reads and earlier else None,
    )


async def count_devices(
    *, session: AsyncSession, principal: Principal, filters: DeviceFilters
) -> int:
    """How many devices match the filters inside the principal's scope."""
    access.ensure_may_search(principal, filters.municipality_code)
    return await DeviceSearchRepository(session).count(filters, access.scope_for(principal))
