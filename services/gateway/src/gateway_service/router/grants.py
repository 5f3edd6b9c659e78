"""Role grants: the roles VIIS does not know, granted and revoked by administrators."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from gateway_service import service
from gateway_service.deps import Settings, Viis, ViisPeople
from gateway_service.models import GrantedRole
from gateway_service.schemas import GrantByCode, GrantCreate, GrantRead
from gateway_service.service import appoint
from shared_kit.auth import CurrentPrincipal
from shared_kit.deps import ClientAddress, NowDep, SessionDep
from shared_kit.fields import AtvkCode
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of
from shared_kit.problems import problem_responses

router = APIRouter(tags=["grants"])


@router.post(
    "/grants",
    status_code=201,
    response_model=GrantRead,
    responses=problem_responses(404, 409),
)
async def create_grant(
    body: GrantCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    viis: ViisPeople,
    address: ClientAddress,
    now: NowDep,
    idem: IdempotencyDep,
) -> Any:
    """Grant a role that VIIS does not know (platform admins: any; municipality admins:
    technicians of their municipality and institution admins of its schools)."""
    if replay := await idem.replay(body):
        return replay
    grant = await service.create_grant(
        session=session,
        principal=principal,
        viis=viis,
        data=body,
        client_address=address,
        now=now,
    )
    return idem.respond(201, (await service.named(session, [grant]))[0])


@router.post(
    "/grants/by-personal-code",
    status_code=201,
    response_model=GrantRead,
    responses=problem_responses(404, 409, 503),
)
async def grant_by_personal_code(
    body: GrantByCode,
    session: SessionDep,
    settings: Settings,
    principal: CurrentPrincipal,
    viis: Viis,
    register: ViisPeople,
    address: ClientAddress,
    now: NowDep,
    response: Response,
) -> Any:
    """Grant a role to the person VIIS knows by this personal code (201), or answer the grant
    they already hold there (200): repeating it grants nothing twice. The code is never
    answered, logged or audited."""
    grant, created = await appoint.grant_by_personal_code(
        session=session,
        settings=settings,
        principal=principal,
        viis=viis,
        register=register,
        data=body,
        client_address=address,
        now=now,
    )
    response.status_code = 201 if created else 200
    return GrantRead.model_validate(grant)


@router.get("/grants", response_model=Page[GrantRead])
async def list_grants(
    session: SessionDep,
    principal: CurrentPrincipal,
    viis: ViisPeople,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    person_id: uuid.UUID | None = None,
    role: GrantedRole | None = None,
    municipality_code: AtvkCode | None = None,
    include_revoked: bool = False,
) -> Any:
    """Role grants you administer, oldest first, with the names of holders and granters; a
    `municipality_code` keeps its roles and its schools' admins (schools as VIIS lists them)."""
    rows = await service.list_grants(
        session=session,
        principal=principal,
        viis=viis,
        person_id=person_id,
        role=role,
        municipality_code=municipality_code,
        include_revoked=include_revoked,
        cursor=cursor,
        limit=limit,
    )
    items, nxt = page_of(rows, limit, lambda g: (g.granted_at, g.id))
    return Page(items=await service.named(session, items), next_cursor=nxt)


@router.get("/grants/{grant_id}", response_model=GrantRead, responses=problem_responses(404))
async def get_grant(
    grant_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal, viis: ViisPeople
) -> Any:
    """One role grant you administer, with the names of its holder and granter."""
    grant = await service.get_grant(
        session=session, principal=principal, viis=viis, grant_id=grant_id
    )
    return (await service.named(session, [grant]))[0]


@router.post(
    "/grants/{grant_id}/revoke",
    response_model=GrantRead,
    responses=problem_responses(404, 409),
)
async def revoke_grant(
    grant_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    viis: ViisPeople,
    address: ClientAddress,
    now: NowDep,
) -> Any:
    """Revoke a grant; it leaves the person's tokens at their next refresh."""
    grant = await service.revoke_grant(
        session=session,
        principal=principal,
        viis=viis,
        grant_id=grant_id,
        client_address=address,
        now=now,
    )
    return (await service.named(session, [grant]))[0]
