"""Reference data: municipalities and education institutions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from inventory_service.deps import Reader, ValidInstitution, ValidMunicipality
from inventory_service.router.base import COMMON, PREFIX, READ, WRITE, set_etag
from inventory_service.schemas import (
    InstitutionCreate,
    InstitutionRead,
    InstitutionUpdate,
    MunicipalityCreate,
    MunicipalityListItem,
    MunicipalityRead,
    MunicipalityUpdate,
)
from inventory_service.service import reference
from shared_kit.auth import CurrentPrincipal
from shared_kit.concurrency import IfMatch, etag
from shared_kit.deps import SessionDep
from shared_kit.fields import ATVK_PATTERN
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of, page_response
from shared_kit.problems import problem_responses

router = APIRouter(prefix=PREFIX, responses=COMMON, tags=["reference data"])


# Municipalities -----------------------------------------------------------------------------


@router.post(
    "/municipalities",
    status_code=201,
    response_model=MunicipalityRead,
    responses=problem_responses(409),
)
async def create_municipality(
    body: MunicipalityCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    idem: IdempotencyDep,
):
    """Register a municipality (platform administrators)."""
    if replay := await idem.replay(body):
        return replay
    municipality = await reference.create_municipality(
        session=session, principal=principal, data=body
    )
    return idem.respond(
        201, MunicipalityRead.model_validate(municipality), {"ETag": etag(municipality.version)}
    )


@router.get("/municipalities", response_model=Page[MunicipalityListItem])
async def list_municipalities(
    session: SessionDep, principal: Reader, cursor: CursorParam = None, limit: LimitParam = 50
):
    """Municipalities you may see, ordered by code, with how many institutions each has."""
    rows = await reference.list_municipalities(
        session=session, principal=principal, cursor=cursor, limit=limit
    )
    items, nxt = page_of(rows, limit, lambda m: (m.code,))
    counts = await reference.institution_counts(session=session, municipalities=items)
    listed = [
        MunicipalityListItem.model_validate(
            {**MunicipalityRead.model_validate(m).model_dump(), "institution_count": counts[m.id]}
        )
        for m in items
    ]
    return page_response(listed, nxt)


@router.get("/municipalities/{code}", response_model=MunicipalityRead, responses=READ)
async def get_municipality(municipality: ValidMunicipality, response: Response):
    """One municipality."""
    set_etag(response, municipality.version)
    return municipality


@router.patch("/municipalities/{code}", response_model=MunicipalityRead, responses=WRITE)
async def update_municipality(
    body: MunicipalityUpdate,
    municipality: ValidMunicipality,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Rename a municipality (platform administrators)."""
    municipality = await reference.rename_municipality(
        session=session,
        principal=principal,
        municipality=municipality,
        name=body.name,
        if_match=if_match,
    )
    set_etag(response, municipality.version)
    return municipality


# Institutions -------------------------------------------------------------------------------


@router.post(
    "/institutions",
    status_code=201,
    response_model=InstitutionRead,
    responses=problem_responses(404, 409),
)
async def create_institution(
    body: InstitutionCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    idem: IdempotencyDep,
):
    """Register an education institution in a municipality you manage."""
    if replay := await idem.replay(body):
        return replay
    institution = await reference.create_institution(
        session=session, principal=principal, data=body
    )
    return idem.respond(
        201, InstitutionRead.model_validate(institution), {"ETag": etag(institution.version)}
    )


@router.get("/institutions", response_model=Page[InstitutionRead])
async def list_institutions(
    session: SessionDep,
    principal: Reader,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    municipality: Annotated[str | None, Query(pattern=ATVK_PATTERN)] = None,
):
    """Institutions you may see, ordered by registration number."""
    rows = await reference.list_institutions(
        session=session,
        principal=principal,
        municipality_code=municipality,
        cursor=cursor,
        limit=limit,
    )
    items, nxt = page_of(rows, limit, lambda i: (i.registration_number,))
    return page_response([InstitutionRead.model_validate(i) for i in items], nxt)


@router.get("/institutions/{number}", response_model=InstitutionRead, responses=READ)
async def get_institution(institution: ValidInstitution, response: Response):
    """One institution."""
    set_etag(response, institution.version)
    return institution


@router.patch("/institutions/{number}", response_model=InstitutionRead, responses=WRITE)
async def update_institution(
    body: InstitutionUpdate,
    institution: ValidInstitution,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Rename an institution."""
    institution = await reference.rename_institution(
        session=session,
        principal=principal,
        institution=institution,
        name=body.name,
        if_match=if_match,
    )
    set_etag(response, institution.version)
    return institution
