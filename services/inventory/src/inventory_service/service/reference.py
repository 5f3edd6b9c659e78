"""Reference data: municipalities (ATVK codes) and education institutions (VIIS numbers)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service.exceptions import DuplicateCode, InstitutionNotFound, MunicipalityNotFound
from inventory_service.models import Institution, Municipality
from inventory_service.repository import InstitutionRepository, MunicipalityRepository
from inventory_service.schemas import InstitutionCreate, MunicipalityCreate
from inventory_service.service import access
from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match


async def create_municipality(
    *, session: AsyncSession, principal: Principal, data: MunicipalityCreate
) -> Municipality:
    """Register a municipality (platform administrators)."""
    access.ensure_platform_admin(principal, "register municipalities")
    if await MunicipalityRepository(session).by_code(data.code):
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
    access.ensure_platform_admin(principal, "rename municipalities")
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


async def visible_municipality(
    *, session: AsyncSession, principal: Principal, code: str
) -> Municipality:
    """A municipality the principal may see (404 when missing, 403 outside their tenancy)."""
    municipality = await get_municipality(session=session, code=code)
    access.ensure_sees_municipality(principal, code)
    return municipality


async def list_municipalities(
    *, session: AsyncSession, principal: Principal, cursor: str | None, limit: int
) -> Sequence[Municipality]:
    """A page of the municipalities the principal may see, by code."""
    scope = access.scope_for(principal)
    return await MunicipalityRepository(session).page(scope, cursor, limit)


async def institution_counts(
    *, session: AsyncSession, municipalities: Sequence[Municipality]
) -> dict[uuid.UUID, int]:
    """Municipality id → its number of institutions (zero included)."""
    ids = [m.id for m in municipalities]
    counts = await MunicipalityRepository(session).institution_counts(ids)
    return {i: counts.get(i, 0) for i in ids}


async def create_institution(
    *, session: AsyncSession, principal: Principal, data: InstitutionCreate
) -> Institution:
    """Register an institution in a municipality the principal manages."""
    access.ensure_manages(principal, data.municipality_code)
    municipality = await get_municipality(session=session, code=data.municipality_code)
    if await InstitutionRepository(session).by_number(data.registration_number):
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
    access.ensure_manages(principal, institution.municipality.code)
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


async def visible_institution(
    *, session: AsyncSession, principal: Principal, number: str
) -> Institution:
    """An institution the principal may see (404 when missing, 403 outside their tenancy)."""
    institution = await get_institution(session=session, number=number)
    access.ensure_sees_institution(principal, institution)
    return institution


async def list_institutions(
    *,
    session: AsyncSession,
    principal: Principal,
    municipality_code: str | None,
    cursor: str | None,
    limit: int,
) -> Sequence[Institution]:
    """A page of the institutions the principal may see, by registration number."""
    scope = access.scope_for(principal)
    repo = InstitutionRepository(session)
    return await repo.page(scope, municipality_code, cursor, limit)
