"""A municipality's schools from VIIS: what VIIS lists, and importing it (again) into the
reference data.

An import is a refresh: an institution VIIS lists in the municipality is created when new,
its name, address and grades brought up to date when known, and left alone when the platform
keeps it in another municipality (its devices' tenancy would move with it: an administrator's
decision, not an import's). Nothing is ever removed, nothing created twice; imports of one
municipality run one at a time (its row is locked).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service.exceptions import ViisUnreachable
from inventory_service.models import Institution, Municipality
from inventory_service.repository import InstitutionRepository, MunicipalityRepository
from inventory_service.schemas import ImportedInstitution, ViisImportReport
from inventory_service.service import access
from shared_kit.auth import Principal
from shared_kit.viis import ViisError, ViisInstitution, ViisInstitutionRegister, ViisMunicipality

logger = logging.getLogger(__name__)
ViisFactory = Callable[[], AbstractAsyncContextManager[ViisInstitutionRegister]]


async def municipalities(*, principal: Principal, open_viis: ViisFactory) -> list[ViisMunicipality]:
    """The municipalities VIIS lists institutions of (platform administrators)."""
    access.ensure_platform_admin(principal, "read the VIIS register")
    try:
        async with open_viis() as viis:
            return await viis.municipalities()
    except ViisError as exc:
        raise ViisUnreachable(f"The VIIS municipality list could not be read: {exc}") from exc


async def institutions(
    *, principal: Principal, open_viis: ViisFactory, code: str
) -> list[ViisInstitution]:
    """The institutions VIIS lists in a municipality (platform administrators)."""
    access.ensure_platform_admin(principal, "read the VIIS register")
    return await _listed(open_viis, code)


async def import_institutions(
    *,
    session: AsyncSession,
    principal: Principal,
    open_viis: ViisFactory,
    municipality: Municipality,
    now: dt.datetime,
) -> ViisImportReport:
    """Create or bring up to date the municipality's institutions as VIIS lists them."""
    access.ensure_platform_admin(principal, "import institutions from VIIS")
    listed = await _listed(open_viis, municipality.code)
    await MunicipalityRepository(session).lock(municipality)
    repo = InstitutionRepository(session)
    known = await repo.by_numbers([i.registration_number for i in listed])
    report = ViisImportReport(municipality_code=municipality.code)
    for item in listed:
        brief = ImportedInstitution(registration_number=item.registration_number, name=item.name)
        institution = known.get(item.registration_number)
        if institution is None:
            session.add(_new_institution(item, municipality, now))
            report.created.append(brief)
        elif institution.municipality_id != municipality.id:
            report.elsewhere.append(brief)
        elif _refresh(institution, item, now):
            report.updated.append(brief)
        else:
            report.unchanged.append(brief)
    await session.flush()
    # (`created` would clash with the log record's own attribute of that name)
    logger.info(
        "VIIS import",
        extra={
            "municipality": municipality.code,
            "institutions_created": len(report.created),
            "institutions_updated": len(report.updated),
        },
    )
    return report


async def _listed(open_viis: ViisFactory, code: str) -> list[ViisInstitution]:
    """The institutions VIIS lists in the municipality; ViisUnreachable when VIIS fails."""
    try:
        async with open_viis() as viis:
            listed = await viis.institutions(code)
    except ViisError as exc:
        raise ViisUnreachable(f"The VIIS institution list could not be read: {exc}") from exc
    return [i for i in listed if i.municipality_code == code]


def _new_institution(
    item: ViisInstitution, municipality: Municipality, now: dt.datetime
) -> Institution:
    return Institution(
        registration_number=item.registration_number,
        name=item.name[:300],
        municipality_id=municipality.id,
        address=(item.address or None) and item.address[:300],
        grades=sorted(set(item.grades)),
        viis_synced_at=now,
    )


def _refresh(institution: Institution, item: ViisInstitution, now: dt.datetime) -> bool:
    """Bring a known institution up to date; whether anything changed (then its version and
    `viis_synced_at` move)."""
    wanted = {
        "name": item.name[:300],
        "address": (item.address or None) and item.address[:300],
        "grades": sorted(set(item.grades)),
    }
    changed = {k: v for k, v in wanted.items() if getattr(institution, k) != v}
    if not changed:
        return False  # untouched: its version (and ETag) stay
    for key, value in changed.items():
        setattr(institution, key, value)
    institution.viis_synced_at = now
    return True
