"""A person's own view of themselves, and the internal lookup of trusted services."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from gateway_service import service
from gateway_service.deps import Settings, Viis, ViisPeople
from gateway_service.exceptions import PersonNotFound
from gateway_service.router.base import NO_STORE
from gateway_service.schemas import EnrolmentRead, MeRead, PersonFound, PersonIdentity, PersonLookup
from shared_kit.auth import CurrentPrincipal
from shared_kit.deps import ClientAddress, NowDep, SessionDep
from shared_kit.problems import problem_response, problem_responses

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
    request: Request,
    session: SessionDep,
    settings: Settings,
    principal: CurrentPrincipal,
    viis: Viis,
    address: ClientAddress,
    now: NowDep,
    response: Response,
) -> Any:
    """The person VIIS knows by this personal code: their id (to grant them a role, or record a
    child's paper answer) and name, never the code; administrators, and a school's admin for
    the learners of their school (anyone else: 404); every lookup audited."""
    response.headers.update(NO_STORE)
    found = await service.find_person(
        session=session,
        settings=settings,
        principal=principal,
        viis=viis,
        personal_code=body.personal_code,
        client_address=address,
        now=now,
    )
    return found if found is not None else _not_found(request, PERSON_UNKNOWN)


@router.get(
    "/people/{person_id}/enrolment",
    response_model=EnrolmentRead,
    tags=["people"],
    responses=problem_responses(404, 503),
)
async def learner_enrolment(
    person_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    viis: ViisPeople,
    address: ClientAddress,
    now: NowDep,
    response: Response,
) -> Any:
    """A learner's school (and its municipality), grade and class as VIIS has them now, never
    a personal code: for the learner, their guardians and the admins of their school or its
    municipality; anyone else, and a person who is no learner, gets the same 404."""
    response.headers.update(NO_STORE)
    found = await service.learner_enrolment(
        session=session,
        principal=principal,
        viis=viis,
        person_id=person_id,
        client_address=address,
        now=now,
    )
    return found if found is not None else _not_found(request, LEARNER_UNKNOWN)


PERSON_UNKNOWN = "VIIS knows nobody with this personal code"
LEARNER_UNKNOWN = "No learner with this id is known to you"


def _not_found(request: Request, detail: str) -> JSONResponse:
    """The 404 of a refused or unknown person, returned (not raised) so that the request's
    audit record of the refusal is committed."""
    return problem_response(
        PersonNotFound.status,
        PersonNotFound.type,
        PersonNotFound.title,
        detail,
        request.url.path,
        dict(NO_STORE),
    )
