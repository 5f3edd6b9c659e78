"""Who may see and change what in the inventory, from the token alone.

Platform administrators and ministry analysts see everything; municipality administrators,
technicians and machine clients their municipalities; institution administrators their
institutions. Municipality administrators and machine clients with `inventory:write` manage
their municipalities' stock; technicians and institution staff move devices between everyday
statuses; only administrators edit the catalogue.
"""

from __future__ import annotations

from inventory_service.models import Device, DeviceStatus, Institution
from shared_kit.auth import Principal, Role
from shared_kit.tenancy import Scope, TenantForbidden

READ_ROLES = (
    Role.PLATFORM_ADMIN,
    Role.MINISTRY_ANALYST,
    Role.PROGRAMME_MANAGER,
    Role.MUNICIPALITY_ADMIN,
    Role.TECHNICIAN,
    Role.SERVICE,
    Role.INSTITUTION_ADMIN,
)
WRITE_SCOPE = "inventory:write"
READ_SCOPE = "inventory:read"


def scope_for(principal: Principal) -> Scope:
    """What the principal may see: everything, their municipalities, or their institutions."""
    if principal.has(Role.PLATFORM_ADMIN, Role.MINISTRY_ANALYST, Role.PROGRAMME_MANAGER):
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


def ensure_sees_municipality(principal: Principal, code: str) -> None:
    """Raise 403 unless the municipality is inside the principal's scope."""
    if not scope_for(principal).allows(municipality=code):
        raise TenantForbidden(f"You may not see municipality {code}")


def ensure_sees_institution(principal: Principal, institution: Institution) -> None:
    """Raise 403 unless the institution (or its municipality) is inside the principal's scope."""
    number = institution.registration_number
    scope = scope_for(principal)
    if not scope.allows(municipality=institution.municipality.code, institution=number):
        raise TenantForbidden(f"You may not see institution {number}")


def ensure_may_search(principal: Principal, municipality_code: str | None) -> None:
    """Raise 403 for a search filtered on a municipality the principal may not see."""
    scope = scope_for(principal)
    restricted = not scope.everything and not scope.institution_numbers
    if municipality_code and restricted and municipality_code not in scope.municipality_codes:
        raise TenantForbidden(f"You may not see municipality {municipality_code}")


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
    if to is DeviceStatus.WRITTEN_OFF:
        raise TenantForbidden("Only the owner municipality's administrators write devices off")
    if principal.has(Role.TECHNICIAN) and device.municipality.code in principal.municipalities:
        return
    institution = device.institution.registration_number if device.institution else None
    if principal.has(Role.INSTITUTION_ADMIN) and institution in principal.institutions:
        return
    raise TenantForbidden("You may not change the status of this device")


def ensure_platform_admin(principal: Principal, action: str) -> None:
    """Raise 403 unless the principal is a platform administrator (`action`: what they tried)."""
    if not principal.has(Role.PLATFORM_ADMIN):
        raise TenantForbidden(f"Only platform administrators {action}")


def ensure_catalogue_editor(principal: Principal) -> None:
    """Catalogue items are shared reference data: platform or municipality administrators."""
    if not principal.has(Role.PLATFORM_ADMIN, Role.MUNICIPALITY_ADMIN):
        raise TenantForbidden("Only administrators edit the catalogue")
