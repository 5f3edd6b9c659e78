"""Machine clients of the client-credentials grant: registration, secrets, revocation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from gateway_service import service
from gateway_service.deps import LockedClient, Settings, ValidClient
from gateway_service.router.base import NO_STORE, PREFIX
from gateway_service.schemas import ClientCreate, ClientRead, ClientWithSecret, ScopeRead
from shared_kit.auth import CurrentPrincipal
from shared_kit.deps import ClientAddress, NowDep, SessionDep
from shared_kit.fields import AtvkCode
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of
from shared_kit.problems import problem_responses

router = APIRouter(tags=["clients"])


def _with_secret(client: Any, secret: str) -> ClientWithSecret:
    """The client as read, with the secret that is shown only in this response."""
    return ClientWithSecret(**ClientRead.model_validate(client).model_dump(), client_secret=secret)


@router.post(
    "/clients",
    status_code=201,
    response_model=ClientWithSecret,
    responses=problem_responses(409),
)
async def create_client(
    body: ClientCreate,
    session: SessionDep,
    settings: Settings,
    principal: CurrentPrincipal,
    address: ClientAddress,
    now: NowDep,
    response: Response,
) -> Any:
    """Register a machine client; the secret is in this response only.

    No `Idempotency-Key` here on purpose: a stored replay would keep the secret in clear.
    """
    client, secret = await service.create_client(
        session=session,
        settings=settings,
        principal=principal,
        data=body,
        client_address=address,
        now=now,
    )
    response.headers.update({**NO_STORE, "Location": f"{PREFIX}/clients/{client.client_id}"})
    return _with_secret(client, secret)


@router.get("/clients", response_model=Page[ClientRead])
async def list_clients(
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    municipality_code: AtvkCode | None = None,
) -> Any:
    """API clients you administer (of one municipality when given), ordered by client id."""
    rows = await service.list_clients(
        session=session,
        principal=principal,
        cursor=cursor,
        limit=limit,
        municipality_code=municipality_code,
    )
    items, nxt = page_of(rows, limit, lambda c: (c.client_id,))
    return Page(items=[ClientRead.model_validate(c) for c in items], next_cursor=nxt)


@router.get("/client-scopes", response_model=list[ScopeRead])
async def client_scopes(principal: CurrentPrincipal) -> Any:
    """The scopes you may give a client you register, with what each allows."""
    scopes = service.grantable_scopes(principal)
    return [ScopeRead(scope=s, description=text) for s, text in scopes.items()]


@router.get(
    "/clients/{client_id}",
    response_model=ClientRead,
    responses=problem_responses(404),
)
async def get_client(client: ValidClient) -> Any:
    """One API client (never its secret)."""
    return client


@router.post(
    "/clients/{client_id}/secret",
    response_model=ClientWithSecret,
    responses=problem_responses(404, 409),
)
async def rotate_client_secret(
    client: LockedClient,
    session: SessionDep,
    settings: Settings,
    principal: CurrentPrincipal,
    address: ClientAddress,
    now: NowDep,
    response: Response,
) -> Any:
    """Issue a new secret (shown only here); the old one stops working at once."""
    client, secret = await service.rotate_client_secret(
        session=session,
        settings=settings,
        principal=principal,
        client=client,
        client_address=address,
        now=now,
    )
    response.headers.update(NO_STORE)
    return _with_secret(client, secret)


@router.post(
    "/clients/{client_id}/revoke",
    response_model=ClientRead,
    responses=problem_responses(404, 409),
)
async def revoke_client(
    client: LockedClient,
    session: SessionDep,
    principal: CurrentPrincipal,
    address: ClientAddress,
    now: NowDep,
) -> Any:
    """Revoke a client: no new tokens (those issued expire within minutes)."""
    return await service.revoke_client(
        session=session, principal=principal, client=client, client_address=address, now=now
    )
