"""HTTP endpoints: discovery and JWKS, the OAuth endpoints, and the admin API under
`/api/v1/gateway`."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import JSONResponse

from gateway_service import deps, service
from gateway_service.deps import LockedClient, Settings, ValidClient, ViisPeople
from gateway_service.exceptions import (
    InvalidClient,
    InvalidRequest,
    OAuthError,
    RateLimited,
    UnsupportedGrantType,
)
from gateway_service.login import flow
from gateway_service.models import GrantedRole
from gateway_service.repository import AuditRepository, ClientRepository, GrantRepository
from gateway_service.schemas import (
    AuditRead,
    ClientCreate,
    ClientRead,
    ClientWithSecret,
    GrantCreate,
    GrantRead,
    JWKSet,
    MeRead,
    OAuthErrorBody,
    PersonIdentity,
    SigningKeyRead,
    TokenResponse,
)
from shared_kit.auth import CurrentPrincipal, Role, require_roles
from shared_kit.deps import ClientAddress, ClockDep, NowDep, SessionDep
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of
from shared_kit.problems import problem_responses

PREFIX = "/api/v1/gateway"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorBody, "description": "RFC 6749 §5.2 error"},
    401: {"model": OAuthErrorBody, "description": "Client authentication failed"},
    429: {"model": OAuthErrorBody, "description": "Too many requests (see Retry-After)"},
}

oauth_router = APIRouter(tags=["oauth"])
router = APIRouter(prefix=PREFIX, responses=problem_responses(400, 401, 403, 422, 503))
PlatformAdmin = require_roles(Role.PLATFORM_ADMIN)


# Discovery, keys and OAuth ------------------------------------------------------------------


@oauth_router.get("/.well-known/jwks.json", response_model=JWKSet)
async def get_jwks(session: SessionDep, settings: Settings, now: NowDep, response: Response) -> Any:
    """Public signing keys: the next, the active and recently retired ones."""
    keys = await service.published_keys(session=session, settings=settings, now=now)
    response.headers["Cache-Control"] = f"public, max-age={settings.jwks_max_age_s}"
    return service.jwks(keys)


@oauth_router.get("/.well-known/openid-configuration")
async def openid_configuration(settings: Settings, response: Response) -> dict[str, Any]:
    """Authorization server metadata (OpenID Connect Discovery / RFC 8414)."""
    response.headers["Cache-Control"] = "public, max-age=3600"
    return service.discovery(settings)


def oauth_error(exc: OAuthError) -> JSONResponse:
    """An RFC 6749 §5.2 error response (never problem+json: OAuth clients expect this)."""
    headers = dict(NO_STORE)
    if isinstance(exc, InvalidClient):
        headers["WWW-Authenticate"] = 'Basic realm="datori", charset="UTF-8"'
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status, headers=headers)


def _client_auth(request: Request, form_id: str | None, form_secret: str | None) -> tuple[str, str]:
    """Client id and secret from HTTP Basic (RFC 6749 §2.3.1) or the form, not both."""
    header = request.headers.get("authorization")
    if header is None:
        if not form_id or not form_secret:
            raise InvalidClient("Authenticate the client with HTTP Basic or client_secret_post")
        return form_id, form_secret
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient("The token endpoint takes HTTP Basic client authentication")
    if form_secret:
        raise InvalidRequest("Use one client authentication method, not two")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("Malformed HTTP Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise InvalidClient("Malformed HTTP Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


@oauth_router.post("/oauth/token", response_model=TokenResponse, responses=OAUTH_ERRORS)
async def token(
    request: Request,
    session: SessionDep,
    settings: Settings,
    address: ClientAddress,
    now: NowDep,
    grant_type: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    refresh_token: Annotated[str | None, Form()] = None,
    code: Annotated[str | None, Form()] = None,
    code_verifier: Annotated[str | None, Form()] = None,
    redirect_uri: Annotated[str | None, Form()] = None,
) -> Any:
    """OAuth 2.0 token endpoint: authorization_code (PKCE), client_credentials, refresh_token."""
    try:
        deps.check_rate(request, address, now)
        if grant_type == "client_credentials":
            cid, secret = _client_auth(request, client_id, client_secret)
            result = await service.client_credentials(
                session=session,
                settings=settings,
                client_id=cid,
                client_secret=secret,
                scope=scope,
                client_address=address,
                now=now,
            )
        elif grant_type == "authorization_code":
            result = await flow.redeem_code(
                session=session,
                settings=settings,
                code=code,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
                client_address=address,
                now=now,
            )
        elif grant_type == "refresh_token":
            if not refresh_token:
                raise InvalidRequest("The refresh_token parameter is missing")
            result = await service.refresh_session(
                session=session,
                settings=settings,
                refresh_token=refresh_token,
                client_address=address,
                now=now,
            )
        elif grant_type is None:
            raise InvalidRequest("The grant_type parameter is missing (send a form body)")
        else:
            raise UnsupportedGrantType(f"The grant type '{grant_type[:40]}' is not supported")
    except OAuthError as exc:
        # Returned, not raised: what the failure wrote (audit, a revoked family) commits.
        return oauth_error(exc)
    return JSONResponse(result.model_dump(exclude_none=True), headers=NO_STORE)


@oauth_router.post(
    "/oauth/revoke",
    response_class=Response,
    responses={
        **OAUTH_ERRORS,
        200: {"description": "Revoked, or not a token of ours (RFC 7009): no body"},
    },
)
async def revoke(
    request: Request,
    session: SessionDep,
    address: ClientAddress,
    now: NowDep,
    token: Annotated[str | None, Form()] = None,
    token_type_hint: Annotated[str | None, Form()] = None,
) -> Any:
    """RFC 7009 revocation: a refresh token ends its session (logout); others are ignored."""
    try:
        deps.check_rate(request, address, now)
        if not token:
            raise InvalidRequest("The token parameter is missing")
    except OAuthError as exc:
        return oauth_error(exc)
    await service.revoke_refresh_token(
        session=session, token=token, client_address=address, now=now
    )
    return Response(status_code=200, headers=NO_STORE)


# Signing keys -------------------------------------------------------------------------------


@router.get(
    "/keys", response_model=list[SigningKeyRead], tags=["keys"], dependencies=[PlatformAdmin]
)
async def list_keys(session: SessionDep, settings: Settings, now: NowDep) -> Any:
    """The published signing keys and their states."""
    return await service.published_keys(session=session, settings=settings, now=now)


@router.post(
    "/keys/rotate",
    response_model=list[SigningKeyRead],
    tags=["keys"],
    responses=problem_responses(409),
)
async def rotate_keys(
    session: SessionDep,
    settings: Settings,
    principal: CurrentPrincipal,
    address: ClientAddress,
    clock: ClockDep,
    force: Annotated[
        bool, Query(description="Rotate even if the next key may not be in every cache yet")
    ] = False,
) -> Any:
    """Rotate: next → active, active → retired (published until its tokens expire), new next."""
    return await service.rotate_keys(
        session=session,
        settings=settings,
        principal=principal,
        client_address=address,
        clock=clock,
        force=force,
    )


# API clients --------------------------------------------------------------------------------


def _with_secret(client: Any, secret: str) -> ClientWithSecret:
    return ClientWithSecret(**ClientRead.model_validate(client).model_dump(), client_secret=secret)


@router.post(
    "/clients",
    status_code=201,
    response_model=ClientWithSecret,
    tags=["clients"],
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


@router.get("/clients", response_model=Page[ClientRead], tags=["clients"])
async def list_clients(
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Any:
    """API clients you administer, ordered by client id."""
    allowed = service.client_scope(principal)
    rows = await ClientRepository(session).page(allowed, cursor, limit)
    items, nxt = page_of(rows, limit, lambda c: (c.client_id,))
    return Page(items=[ClientRead.model_validate(c) for c in items], next_cursor=nxt)


@router.get(
    "/clients/{client_id}",
    response_model=ClientRead,
    tags=["clients"],
    responses=problem_responses(404),
)
async def get_client(client: ValidClient) -> Any:
    """One API client (never its secret)."""
    return client


@router.post(
    "/clients/{client_id}/secret",
    response_model=ClientWithSecret,
    tags=["clients"],
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
    tags=["clients"],
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


# Role grants --------------------------------------------------------------------------------


@router.post(
    "/grants",
    status_code=201,
    response_model=GrantRead,
    tags=["grants"],
    responses=problem_responses(404, 409),
)
async def create_grant(
    body: GrantCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    address: ClientAddress,
    now: NowDep,
    idem: IdempotencyDep,
) -> Any:
    """Grant a role that VIIS does not know (platform admins; municipality admins: technicians)."""
    if replay := await idem.replay(body):
        return replay
    grant = await service.create_grant(
        session=session, principal=principal, data=body, client_address=address, now=now
    )
    return idem.respond(201, GrantRead.model_validate(grant))


@router.get("/grants", response_model=Page[GrantRead], tags=["grants"])
async def list_grants(
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    person_id: uuid.UUID | None = None,
    role: GrantedRole | None = None,
    include_revoked: bool = False,
) -> Any:
    """Role grants you administer, oldest first."""
    rows = await GrantRepository(session).page(
        person_id=person_id,
        role=role,
        scope=service.grant_scope(principal),
        include_revoked=include_revoked,
        cursor=cursor,
        limit=limit,
    )
    items, nxt = page_of(rows, limit, lambda g: (g.granted_at, g.id))
    return Page(items=[GrantRead.model_validate(g) for g in items], next_cursor=nxt)


@router.post(
    "/grants/{grant_id}/revoke",
    response_model=GrantRead,
    tags=["grants"],
    responses=problem_responses(404, 409),
)
async def revoke_grant(
    grant_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    address: ClientAddress,
    now: NowDep,
) -> Any:
    """Revoke a grant; it leaves the person's tokens at their next refresh."""
    return await service.revoke_grant(
        session=session, principal=principal, grant_id=grant_id, client_address=address, now=now
    )


# Audit and internal lookups -----------------------------------------------------------------


@router.get("/audit", response_model=Page[AuditRead], tags=["audit"], dependencies=[PlatformAdmin])
async def list_audit(
    session: SessionDep,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    action: Annotated[str | None, Query(max_length=60)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    """The audit log, oldest first (platform administrators)."""
    rows = await AuditRepository(session).page(action, actor, cursor, limit)
    items, nxt = page_of(rows, limit, lambda a: (a.seq,))
    return Page(items=[AuditRead.model_validate(a) for a in items], next_cursor=nxt)


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
