"""What every console page shares: the municipality from the address (one of the person's
own), its name, and the console's sections for its side navigation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path

from portal_service.deps import Person, PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_
from portal_service.web.tokens import claim_list
from shared_kit.fields import ATVK_PATTERN

ADMIN_ROLE = "municipality_admin"
INVENTORY = "/api/v1/inventory"
RESERVATIONS = "/api/v1/reservations"
CONTRACTS = "/api/v1/contracts"
TICKETS = "/api/v1/tickets"
STATISTICS = "/api/v1/statistics"
GATEWAY = "/api/v1/gateway"
PAGE_SIZE = 25

# The console's sections, in the side navigation's order: (path under the base, label).
SECTIONS: list[tuple[str, str]] = [
    ("", N_("Overview")),
    ("/devices", N_("Devices")),
    ("/deliveries", N_("Deliveries")),
    ("/catalogue", N_("Catalogue")),
    ("/lenders", N_("Lenders")),
    ("/policies", N_("Rules")),
    ("/staff", N_("Staff")),
    ("/platforms", N_("Platforms")),
    ("/survey", N_("Needs survey")),
    ("/allocations", N_("Allocations")),
]


def municipalities_of(person: Person) -> list[str]:
    """The municipalities the person administers (their token's municipalities)."""
    if ADMIN_ROLE not in person.profile.roles:
        return []
    return claim_list(person.access_token, "municipalities")


@dataclass(frozen=True)
class MunicipalityPath:
    """The municipality an address names, checked to be one the person administers."""

    code: str
    base: str  # the console's pages start here: /municipality/<code>


async def municipality_path(
    code: Annotated[str, Path(pattern=ATVK_PATTERN)], person: Person
) -> MunicipalityPath:
    """Another municipality's (or a non-admin's) address is simply not there."""
    if code not in municipalities_of(person):
        raise PageNotFound("not one of the person's municipalities")
    return MunicipalityPath(code, f"/municipality/{code}")


Municipality = Annotated[MunicipalityPath, Depends(municipality_path)]

# Municipality names, kept a few minutes (public reference data; access is checked per request).
NAME_TTL_S = 300.0
_names: dict[str, tuple[float, str]] = {}


async def municipality_name(apis: PersonApis, code: str) -> str:
    """The municipality's name from the inventory (else its code)."""
    kept = _names.get(code)
    if kept is not None and kept[0] > time.monotonic():
        return kept[1]
    try:
        body = await apis.inventory.get(f"{INVENTORY}/municipalities/{code}")
    except PageNotFound:
        return code
    name = str(body.get("name") or code)
    if len(_names) > 1_000:
        _names.clear()
    _names[code] = (time.monotonic() + NAME_TTL_S, name)
    return name
