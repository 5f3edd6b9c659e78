"""Events the inventory publishes, as versioned payload models (JSON Schemas come from these)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service.models import Device, DeviceStatus
from shared_kit.events import CloudEvent, add_event
from shared_kit.observability import correlation_id

SOURCE = "/datori/inventory"
PREFIX = "lv.datori.inventory."

DEVICE_REGISTERED = PREFIX + "device.registered.v1"
DEVICE_UPDATED = PREFIX + "device.updated.v1"
DEVICE_ASSIGNED = PREFIX + "device.assigned.v1"
DEVICE_STATUS_CHANGED = PREFIX + "device.status_changed.v1"


class DeviceSnapshot(BaseModel):
    """The device as consumers need it; every device event carries the whole snapshot."""

    model_config = ConfigDict(extra="forbid")

    device_id: uuid.UUID
    version: int
    serial_number: str
    asset_tag: str
    municipality_code: str
    institution_registration_number: str | None
    catalogue_item_code: str
    manufacturer: str
    model: str
    category: str
    os: str
    school_levels: list[str]  # the catalogue item's (e.g. "grades 1-3"); empty = any level
    screen_inches: Decimal | None
    touch: bool
    accessories: list[str]
    purchase_price: Decimal | None  # the value a loan contract names for liability
    funding_source: str
    delivery_date: dt.date | None
    warranty_ends_on: dt.date | None
    insured_until: dt.date | None
    condition: str
    status: DeviceStatus
    # The procurement's order reference the device was delivered under (statistics counts it
    # as delivered against planning's allocation round); optional, as older events lack it.
    order_reference: str | None = None


class DeviceRegistered(BaseModel):
    """A device entered the inventory."""

    model_config = ConfigDict(extra="forbid")
    device: DeviceSnapshot


class DeviceUpdated(BaseModel):
    """Device attributes changed (not status, not institution)."""

    model_config = ConfigDict(extra="forbid")
    device: DeviceSnapshot
    changed_fields: list[str]


class DeviceAssigned(BaseModel):
    """A device was assigned to another institution (or unassigned)."""

    model_config = ConfigDict(extra="forbid")
    device: DeviceSnapshot
    from_institution: str | None
    to_institution: str | None


class DeviceStatusChanged(BaseModel):
    """A device moved between states."""

    model_config = ConfigDict(extra="forbid")
    device: DeviceSnapshot
    from_status: DeviceStatus
    to_status: DeviceStatus
    reason: str | None


PAYLOADS: dict[str, type[BaseModel]] = {
    DEVICE_REGISTERED: DeviceRegistered,
    DEVICE_UPDATED: DeviceUpdated,
    DEVICE_ASSIGNED: DeviceAssigned,
    DEVICE_STATUS_CHANGED: DeviceStatusChanged,
}


def snapshot(device: Device) -> DeviceSnapshot:
    """Snapshot of a device whose catalogue item, municipality and institution are loaded."""
    item = device.catalogue_item
    return DeviceSnapshot(
        device_id=device.id,
        version=device.version,
        serial_number=device.serial_number,
        asset_tag=device.asset_tag,
        municipality_code=device.municipality.code,
        institution_registration_number=(
            device.institution.registration_number if device.institution else None
        ),
        catalogue_item_code=item.code,
        manufacturer=item.manufacturer,
        model=item.model,
        school_levels=list(item.school_levels or []),
        accessories=list(device.accessories or []),
        purchase_price=device.purchase_price,
        category=item.category.value,
        os=item.os.value,
        screen_inches=item.screen_inches,
        touch=item.touch,
        funding_source=device.funding_source.value,
        delivery_date=device.delivery_date,
        warranty_ends_on=device.warranty_ends_on,
        insured_until=device.insured_until,
        condition=device.condition.value,
        status=device.status,
        order_reference=device.order_reference,
    )


def device_event(type_: str, device: Device, **fields: Any) -> CloudEvent:
    """A CloudEvent for a device whose relations are loaded and whose version is current."""
    payload = PAYLOADS[type_](device=snapshot(device), **fields)
    return CloudEvent(
        type=type_,
        source=SOURCE,
        subject=str(device.id),
        data=payload.model_dump(mode="json"),
        municipality=device.municipality.code,
        correlationid=correlation_id.get(),
    )


def publish(session: AsyncSession, type_: str, device: Device, **fields: Any) -> None:
    """Queue a device event in the outbox of the caller's transaction."""
    add_event(session, device_event(type_, device, **fields))
