"""A person's own view of themselves, and the internal lookup of trusted services."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from gateway_service import service
from gateway_service.deps import Settings, Viis, ViisPeople
from gateway_service.router.base import NO_STORE
from gateway_service.schemas import MeRead, PersonFound, PersonIdentity, PersonLookup
from shared_kit.auth import CurrentPrincipal
from shared_kit.deps import ClientAddress, NowDep, SessionDep
from shared_kit.problems import problem_responses

router = APIRouter()


@router.get("/me", response_model=MeRead, tags=["people"], responses=problem_responses(404, 503))
async def who_am_i(
    session: SessionDep, principal: CurrentPrincipal, viis: ViisPeople, response: Response
) -> Any:
    """The caller themself: name, roles and, for a guardian, each child's name, school and
    grade from VIIS (never a personal code). Only a person's own token; nobody else's data."""
    response.headers.update(NO_STORE)
    return await service.who_am_i(session=session, principal=principal, viis=viis)


@router.get(
    "/internal/people/{person_id}",
    response_model=PersonIdentity,
    tags=["internal"],
    responses=problem_responses(404),
)
async def reveal_person(
    person_id: uuid.UUID,
    session: SessionDep,
    settings: Settings,
    principal: CurrentPrincipal,
    address: ClientAddress,
    now: NowDep,
    response: Response,
) -> Any:
    """Name and personal code of a person, for trusted services (`people:personal-code`)."""
    response.headers.update(NO_STORE)
    return await service.reveal_person(
        session=session,
        settings=settings,
        principal=principal,
        person_id=person_id,
        client_address=address,
        now=now,
    )


@router.post(
    "/people/lookup",
    response_model=PersonFound,
    tags=["people"],
    responses=problem_responses(404, 503),
)
async def find_person(
    body: PersonLookup,
    session: SessionDep,
    settings: Settings,
    principal: CurrentPrincipal,
    viis: Viis,
    address: ClientAddress,
    now: NowDep,
    response: Response,
) -> Any:
    """The person VIIS knows by this personal code: their id (to grant them a role) and name,
    never the code; administrators only, every lookup audited."""
    response.headers.update(NO_STORE)
    return await service.find_person(
        session=session,
        settings=settings,
        principal=principal,
        viis=viis,
        personal_code=body.personal_code,
        client_address=address,
        now=now,
    )
