"""Business rules of the inventory: tenancy, the status machine, history and events."""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service import events
from inventory_service.exceptions import (
    CatalogueItemNotFound,
    DeviceNotFound,
    DuplicateCode,
    IllegalTransition,
    ImportNotFound,
    InstitutionNotFound,
    InstitutionOutsideMunicipality,
    MunicipalityNotFound,
)
from inventory_service.models import (
    CatalogueItem,
    Condition,
    Device,
    DeviceHistory,
    DeviceImport,
    DeviceStatus,
    Institution,
    Municipality,
)
from inventory_service.repository import (
    CatalogueRepository,
    DeviceFilters,
    DeviceRepository,
    HistoryRepository,
    ImportRepository,
    InstitutionRepository,
    MunicipalityRepository,
)
from inventory_service.schemas import (
    CatalogueItemCreate,
    CatalogueItemUpdate,
    DeviceCreate,
    DeviceUpdate,
    InstitutionCreate,
    MunicipalityCreate,
)
from shared_kit.auth import Principal, Role
from shared_kit.concurrency import check_if_match
from shared_kit.observability import correlation_id
from shared_kit.tenancy import Scope, TenantForbidden, actor_of

S = DeviceStatus
# The device life cycle. Anything not listed is an illegal transition (409).
TRANSITIONS: dict[DeviceStatus, frozenset[DeviceStatus]] = {
    S.IN_STOCK: frozenset({S.AVAILABLE, S.IN_REPAIR, S.LOST, S.STOLEN, S.WRITTEN_OFF}),
    S.AVAILABLE: frozenset(
        {S.IN_STOCK, S.RESERVED, S.ON_LOAN, S.IN_REPAIR, S.LOST, S.STOLEN, S.WRITTEN_OFF}
    ),
    S.RESERVED: frozenset({S.AVAILABLE, S.ON_LOAN, S.IN_REPAIR, S.LOST, S.STOLEN}),
    # A device back from a loan or a repair is `reserved` when a reservation already holds it.
    S.ON_LOAN: frozenset({S.AVAILABLE, S.RESERVED, S.IN_REPAIR, S.LOST, S.STOLEN}),
    S.IN_REPAIR: frozenset(
        {S.AVAILABLE, S.RESERVED, S.IN_STOCK, S.ON_LOAN, S.LOST, S.STOLEN, S.WRITTEN_OFF}
    ),
    S.LOST: frozenset({S.AVAILABLE, S.IN_STOCK, S.WRITTEN_OFF}),
    S.STOLEN: frozenset({S.AVAILABLE, S.IN_STOCK, S.WRITTEN_OFF}),
    S.WRITTEN_OFF: frozenset(),
}

READ_ROLES = (
    Role.PLATFORM_ADMIN,
    Role.MINISTRY_ANALYST,
    Role.MUNICIPALITY_ADMIN,
    Role.TECHNICIAN,
    Role.SERVICE,
    Role.INSTITUTION_ADMIN,
)
MANAGE_ROLES = (Role.PLATFORM_ADMIN, Role.MUNICIPALITY_ADMIN, Role.SERVICE)
STATUS_ROLES = (*MANAGE_ROLES, Role.TECHNICIAN, Role.INSTITUTION_ADMIN)
WRITE_SCOPE = "inventory:write"
READ_SCOPE = "inventory:read"


# Tenancy ------------------------------------------------------------------------------------


def scope_for(principal: Principal) -> Scope:
    """What the principal may see: everything, their municipalities, or their institutions."""
    if principal.has(Role.PLATFORM_ADMIN, Role.MINISTRY_ANALYST):
        return Scope.all()
    municipal = principal.has(Role.MUNICIPALITY_ADMIN, Role.TECHNICIAN, Role.SERVICE)
    return Scope.of(
        municipalities=principal.municipalities if municipal else (),
        institutions=principal.institutions if principal.has(Role.INSTITUTION_ADMIN) else (),
    )


def can_read(principal: Principal, device: Device) -> bool:
    """Whether the device is inside the principal's scope."""
    institution = device.institution.registration_number if device.institution else None
    return scope_for(principal).allows(
        municipality=device.municipality.code, institution=institution
    )


def manages(principal: Principal, municipality_code: str) -> bool:
    """Whether the principal manages that municipality's stock."""
    if principal.has(Role.PLATFORM_ADMIN):
        return True
    return (
        principal.has(Role.MUNICIPALITY_ADMIN, Role.SERVICE)
        and principal.has_scope(WRITE_SCOPE)
        and municipality_code in principal.municipalities
    )


def ensure_manages(principal: Principal, municipality_code: str) -> None:
    """Raise 403 unless the principal manages the municipality (admins, scoped clients)."""
    if manages(principal, municipality_code):
        return
    if not principal.has(Role.MUNICIPALITY_ADMIN, Role.SERVICE):
        raise TenantForbidden("Only municipality administrators manage the inventory")
    if not principal.has_scope(WRITE_SCOPE):
        raise TenantForbidden(f"This client lacks the scope '{WRITE_SCOPE}'")
    raise TenantForbidden(f"You do not manage municipality {municipality_code}")


def ensure_may_transition(principal: Principal, device: Device, to: DeviceStatus) -> None:
    """Managers change any status; technicians and institution staff the everyday ones."""
    if manages(principal, device.municipality.code):
        return
    if to is S.WRITTEN_OFF:
        raise TenantForbidden("Only the owner municipality's administrators write devices off")
    if principal.has(Role.TECHNICIAN) and device.municipality.code in principal.municipalities:
        return
    institution = device.institution.registration_number if device.institution else None
    if principal.has(Role.INSTITUTION_ADMIN) and institution in principal.institutions:
        return
    raise TenantForbidden("You may not change the status of this device")


# Reference data -----------------------------------------------------------------------------


async def create_municipality(
    *, session: AsyncSession, principal: Principal, data: MunicipalityCreate
) -> Municipality:
    """Register a municipality (platform administrators)."""
    if not principal.has(Role.PLATFORM_ADMIN):
        raise TenantForbidden("Only platform administrators register municipalities")
    repo = MunicipalityRepository(session)
    if await repo.by_code(data.code):
        raise DuplicateCode(f"Municipality {data.code} already exists")
    municipality = Municipality(code=data.code, name=data.name)
    session.add(municipality)
    await session.flush()
    return municipality


async def rename_municipality(
    *,
    session: AsyncSession,
    principal: Principal,
    municipality: Municipality,
    name: str,
    if_match: str | None,
) -> Municipality:
    """Rename a municipality (platform administrators)."""
    if not principal.has(Role.PLATFORM_ADMIN):
        raise TenantForbidden("Only platform administrators rename municipalities")
    check_if_match(if_match, municipality.version)
    municipality.name = name
    await session.flush()
    return municipality


async def get_municipality(*, session: AsyncSession, code: str) -> Municipality:
    """A municipality by ATVK code."""
    municipality = await MunicipalityRepository(session).by_code(code)
    if municipality is None:
        raise MunicipalityNotFound(f"No municipality with code {code}")
    return municipality


async def create_institution(
    *, session: AsyncSession, principal: Principal, data: InstitutionCreate
) -> Institution:
    """Register an institution in a municipality the principal manages."""
    ensure_manages(principal, data.municipality_code)
    municipality = await get_municipality(session=session, code=data.municipality_code)
    repo = InstitutionRepository(session)
    if await repo.by_number(data.registration_number):
        raise DuplicateCode(f"Institution {data.registration_number} already exists")
    institution = Institution(
        registration_number=data.registration_number,
        name=data.name,
        municipality_id=municipality.id,
        municipality=municipality,
    )
    session.add(institution)
    await session.flush()
    return institution


async def rename_institution(
    *,
    session: AsyncSession,
    principal: Principal,
    institution: Institution,
    name: str,
    if_match: str | None,
) -> Institution:
    """Rename an institution of a municipality the principal manages."""
    ensure_manages(principal, institution.municipality.code)
    check_if_match(if_match, institution.version)
    institution.name = name
    await session.flush()
    return institution


async def get_institution(*, session: AsyncSession, number: str) -> Institution:
    """An institution by VIIS registration number."""
    institution = await InstitutionRepository(session).by_number(number)
    if institution is None:
        raise InstitutionNotFound(f"No institution with registration number {number}")
    return institution


# Catalogue ----------------------------------------------------------------------------------


def ensure_catalogue_editor(principal: Principal) -> None:
    """Catalogue items are shared reference data: platform or municipality administrators."""
    if not principal.has(Role.PLATFORM_ADMIN, Role.MUNICIPALITY_ADMIN):
        raise TenantForbidden("Only administrators edit the catalogue")


async def create_catalogue_item(
    *, session: AsyncSession, principal: Principal, data: CatalogueItemCreate
) -> CatalogueItem:
    """Add a catalogue item."""
    ensure_catalogue_editor(principal)
    if await CatalogueRepository(session).by_code(data.code):
        raise DuplicateCode(f"Catalogue item {data.code} already exists")
    item = CatalogueItem(
        **data.model_dump(mode="python", exclude={"options"}), options=data.options.model_dump()
    )
    session.add(item)
    await session.flush()
    return item


async def update_catalogue_item(
    *,
    session: AsyncSession,
    principal: Principal,
    item: CatalogueItem,
    data: CatalogueItemUpdate,
    if_match: str | None,
) -> CatalogueItem:
    """Change a catalogue item's descriptive fields."""
    ensure_catalogue_editor(principal)
    check_if_match(if_match, item.version)
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(item, name, value)
    await session.flush()
    return item


async def get_catalogue_item(*, session: AsyncSession, code: str) -> CatalogueItem:
    """A catalogue item by code."""
    item = await CatalogueRepository(session).by_code(code)
    if item is None:
        raise CatalogueItemNotFound(f"No catalogue item with code {code}")
    return item


# Devices ------------------------------------------------------------------------------------


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


def record(
    session: AsyncSession,
    device: Device,
    actor: str,
    action: str,
    changes: dict[str, Any],
    reason: str | None = None,
) -> None:
    """Append a history entry for a device change (after flush, so the version is current)."""
    HistoryRepository(session).add(
        DeviceHistory(
            id=uuid.uuid4(),
            device_id=device.id,
            actor=actor,
            action=action,
            changes=changes,
            reason=reason,
            device_version=device.version,
            correlation_id=correlation_id.get(),
        )
    )


def _json(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date | uuid.UUID | Decimal):
        return str(value)
    return value


async def register_device(
    *, session: AsyncSession, principal: Principal, data: DeviceCreate
) -> Device:
    """Register one device; history and a `device.registered` event go with it."""
    ensure_manages(principal, data.municipality_code)
    municipality = await get_municipality(session=session, code=data.municipality_code)
    item = await get_catalogue_item(session=session, code=data.catalogue_item_code)
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
    record(
        session,
        device,
        actor_of(principal),
        "registered",
        {k: [None, _json(v)] for k, v in fields.items() if v not in (None, [], 0)},
    )
    events.publish(session, events.DEVICE_REGISTERED, device)
    return device


async def _institution_in(
    session: AsyncSession, number: str | None, municipality: Municipality
) -> Institution | None:
    if number is None:
        return None
    institution = await get_institution(session=session, number=number)
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
    ensure_manages(principal, device.municipality.code)
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
    record(session, device, actor_of(principal), "updated", changes)
    _publish_update(session, device, changes, old_institution)
    return device


def _apply_fields(device: Device, data: DeviceUpdate) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    skip = {"institution_registration_number", "unassign"}
    for name, value in data.model_dump(exclude_unset=True, exclude=skip).items():
        old = getattr(device, name)
        if old != value:
            changes[name] = [_json(old), _json(value)]
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


async def transition_device(
    *,
    session: AsyncSession,
    principal: Principal,
    device: Device,
    to: DeviceStatus,
    reason: str | None,
    if_match: str | None,
) -> Device:
    """Move a device to another status on a person's request."""
    ensure_may_transition(principal, device, to)
    check_if_match(if_match, device.version)
    return await apply_transition(
        session=session,
        device=device,
        to=to,
        reason=reason,
        actor=actor_of(principal),
    )


async def apply_transition(
    *,
    session: AsyncSession,
    device: Device,
    to: DeviceStatus,
    reason: str | None,
    actor: str,
    condition: Condition | None = None,
) -> Device:
    """Apply a legal transition (and a condition recorded with it), record, publish."""
    before = device.status
    if to not in TRANSITIONS[before]:
        allowed = sorted(s.value for s in TRANSITIONS[before])
        raise IllegalTransition(
            f"A device cannot go from {before.value} to {to.value}",
            current_status=before.value,
            allowed=allowed,
        )
    if to is S.IN_REPAIR:
        device.status_before_repair = before
    elif before is S.IN_REPAIR:
        device.status_before_repair = None
    changes = {"status": [before.value, to.value]}
    if condition is not None and condition is not device.condition:
        changes["condition"] = [device.condition.value, condition.value]
        device.condition = condition
    device.status = to
    await session.flush()
    record(session, device, actor, "status_changed", changes, reason)
    events.publish(
        session,
        events.DEVICE_STATUS_CHANGED,
        device,
        from_status=before,
        to_status=to,
        reason=reason,
    )
    return device


async def record_condition(
    *,
    session: AsyncSession,
    device: Device,
    condition: Condition,
    reason: str | None,
    actor: str,
) -> None:
    """Record a condition reported without a status change (one history entry, one event)."""
    if condition is device.condition:
        return
    changes = {"condition": [device.condition.value, condition.value]}
    device.condition = condition
    await session.flush()
    record(session, device, actor, "updated", changes, reason)
    events.publish(session, events.DEVICE_UPDATED, device, changed_fields=["condition"])


async def get_device(
    *, session: AsyncSession, principal: Principal, device_id: uuid.UUID, for_update: bool = False
) -> Device:
    """A device the principal may see (404 when missing, 403 when outside their tenancy)."""
    device = await DeviceRepository(session).get(device_id, for_update=for_update)
    if device is None:
        raise DeviceNotFound(f"No device with id {device_id}")
    if not can_read(principal, device):
        raise TenantForbidden("This device belongs to another municipality or institution")
    return device


async def search_devices(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: DeviceFilters,
    sort: str,
    cursor: str | None,
    limit: int,
) -> Sequence[Device]:
    """Devices matching the filters inside the principal's scope."""
    scope = scope_for(principal)
    wanted = filters.municipality_code
    restricted = not scope.everything and not scope.institution_numbers
    if wanted and restricted and wanted not in scope.municipality_codes:
        raise TenantForbidden(f"You may not see municipality {wanted}")
    return await DeviceRepository(session).search(filters, scope, sort, cursor, limit)


async def get_import(
    *, session: AsyncSession, principal: Principal, import_id: uuid.UUID
) -> DeviceImport:
    """An import record, for the municipality that made it."""
    record = await ImportRepository(session).get(import_id)
    if record is None:
        raise ImportNotFound(f"No import with id {import_id}")
    if not principal.has(Role.PLATFORM_ADMIN):
        mine = await MunicipalityRepository(session).ids_for_codes(principal.municipalities)
        if record.municipality_id not in mine:
            raise TenantForbidden("This import belongs to another municipality")
    return record
