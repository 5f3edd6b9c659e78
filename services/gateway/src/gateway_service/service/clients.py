"""Machine clients: administration and the client-credentials grant."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import crypto
from gateway_service.config import GatewaySettings
from gateway_service.exceptions import (
    AdminForbidden,
    AlreadyRevoked,
    ClientNotFound,
    InvalidClient,
    InvalidScope,
    UnknownScope,
)
from gateway_service.models import ApiClient
from gateway_service.repository import ClientRepository
from gateway_service.schemas import ClientCreate, TokenResponse
from gateway_service.service.common import PRIVILEGED_SCOPES, SCOPES, audit, client_actor
from gateway_service.service.tokens import issue_access_token
from shared_kit.auth import Principal, Role
from shared_kit.tenancy import Scope, actor_of


def client_scope(principal: Principal) -> Scope:
    """The municipalities whose clients the principal administers."""
    if principal.has(Role.PLATFORM_ADMIN):
        return Scope.all()
    if principal.has(Role.MUNICIPALITY_ADMIN) and principal.client_id is None:
        return Scope.of(municipalities=principal.municipalities)
    raise AdminForbidden("Only platform and municipality administrators manage API clients")


def _ensure_administers(principal: Principal, municipality_code: str | None) -> None:
    scope = client_scope(principal)
    if not scope.allows(municipality=municipality_code):
        mine = ", ".join(sorted(scope.municipality_codes))
        raise AdminForbidden(f"You administer only the clients of municipality {mine}")


def _check_known(scopes: Sequence[str]) -> None:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise UnknownScope(f"Unknown scopes: {', '.join(unknown)}", supported=sorted(SCOPES))


def _check_scopes(principal: Principal, scopes: Sequence[str]) -> None:
    _check_known(scopes)
    privileged = set(scopes) & PRIVILEGED_SCOPES
    if privileged and not principal.has(Role.PLATFORM_ADMIN):
        raise AdminForbidden(f"Only platform administrators grant {', '.join(privileged)}")


async def create_client(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    principal: Principal,
    data: ClientCreate,
    client_address: str | None,
    now: dt.datetime,
) -> tuple[ApiClient, str]:
    """Register a machine client; returns it with its secret (shown only this once)."""
    _ensure_administers(principal, data.municipality_code)
    _check_scopes(principal, data.scopes)
    return await _register(session, data, actor_of(principal), client_address, now)


async def provision_client(
    *, session: AsyncSession, data: ClientCreate, registered_by: str, now: dt.datetime
) -> tuple[ApiClient, str]:
    """Register a machine client for an operator (ops CLI: any scope); with its secret."""
    _check_known(data.scopes)
    return await _register(session, data, registered_by, None, now)


async def _register(
    session: AsyncSession,
    data: ClientCreate,
    actor: str,
    client_address: str | None,
    now: dt.datetime,
) -> tuple[ApiClient, str]:
    secret = crypto.new_secret()
    client = ApiClient(
        client_id=f"cl_{secrets.token_hex(10)}",
        name=data.name,
        municipality_code=data.municipality_code,
        scopes=sorted(set(data.scopes)),
        secret_hash=crypto.hash_secret(secret),
        active=True,
        created_by=actor,
    )
    await ClientRepository(session).add(client)
    audit(
        session,
        at=now,
        actor=actor,
        action="client.created",
        target=client.client_id,
        client_address=client_address,
        municipality=client.municipality_code,
        scopes=client.scopes,
    )
    return client, secret


async def list_clients(
    *,
    session: AsyncSession,
    principal: Principal,
    cursor: str | None,
    limit: int,
    municipality_code: str | None = None,
) -> Sequence[ApiClient]:
    """A page of the clients the principal administers (of one municipality), by client id."""
    scope = client_scope(principal)
    return await ClientRepository(session).page(scope, cursor, limit, municipality_code)


def grantable_scopes(principal: Principal) -> dict[str, str]:
    """The scopes the principal may give a client they register, with what each allows."""
    client_scope(principal)
    if principal.has(Role.PLATFORM_ADMIN):
        return dict(SCOPES)
    return {s: text for s, text in SCOPES.items() if s not in PRIVILEGED_SCOPES}


async def get_client(
    *, session: AsyncSession, principal: Principal, client_id: str, for_update: bool = False
) -> ApiClient:
    """A client the principal administers (404 when missing, 403 when not theirs)."""
    client = await ClientRepository(session).by_client_id(client_id, for_update=for_update)
    if client is None:
        raise ClientNotFound(f"No API client {client_id}")
    _ensure_administers(principal, client.municipality_code)
    return client


async def rotate_client_secret(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    principal: Principal,
    client: ApiClient,
    client_address: str | None,
    now: dt.datetime,
) -> tuple[ApiClient, str]:
    """Replace a client's secret; the old one stops working at once."""
    if not client.active:
        raise AlreadyRevoked(f"API client {client.client_id} is revoked")
    secret = crypto.new_secret()
    client.secret_hash = crypto.hash_secret(secret)
    client.secret_rotated_at = now
    await session.flush()
    audit(
        session,
        at=now,
        actor=actor_of(principal),
        action="client.secret_rotated",
        target=client.client_id,
        client_address=client_address,
    )
    return client, secret


async def revoke_client(
    *,
    session: AsyncSession,
    principal: Principal,
    client: ApiClient,
    client_address: str | None,
    now: dt.datetime,
) -> ApiClient:
    """Revoke a client: it gets no new tokens (issued ones expire within minutes)."""
    if not client.active:
        raise AlreadyRevoked(f"API client {client.client_id} is already revoked")
    client.active, client.revoked_at = False, now
    await session.flush()
    audit(
        session,
        at=now,
        actor=actor_of(principal),
        action="client.revoked",
        target=client.client_id,
        client_address=client_address,
    )
    return client


# Checked against for an unknown client id, so timing does not reveal which ids exist.
_DUMMY_HASH = crypto.hash_secret("dummy")


async def _authenticate_client(
    session: AsyncSession, settings: GatewaySettings, client_id: str, secret: str
) -> ApiClient:
    client = await ClientRepository(session).by_client_id(client_id)
    if client is None:
        crypto.verify_secret(secret, _DUMMY_HASH)  # the same work as for a known client
        raise InvalidClient("Unknown client or wrong secret")
    if not crypto.verify_secret(secret, client.secret_hash):
        raise InvalidClient("Unknown client or wrong secret")
    if not client.active:
        raise InvalidClient("This client has been revoked")
    return client


def audiences_for(scopes: Sequence[str], settings: GatewaySettings) -> list[str]:
    """The services a set of scopes is for (`people:*` is the gateway itself)."""
    audiences = set()
    for scope in scopes:
        prefix = scope.split(":", 1)[0]
        if prefix == "people":
            audiences.add(settings.jwt_audience)
        elif prefix in settings.audiences:
            audiences.add(prefix)
    return sorted(audiences)


async def client_credentials(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    client_id: str,
    client_secret: str,
    scope: str | None,
    client_address: str | None,
    now: dt.datetime,
) -> TokenResponse:
    """RFC 6749 §4.4: a token for a machine client, for the scopes it asked (or all it has)."""
    client = await _authenticated(session, settings, client_id, client_secret, client_address, now)
    granted, audience = _granted(client, scope, settings)
    issued = await issue_access_token(
        session=session,
        settings=settings,
        now=now,
        subject=client.client_id,
        audience=audience,
        roles=[Role.SERVICE],
        municipalities=[client.municipality_code] if client.municipality_code else [],
        client_id=client.client_id,
        scope=granted,
    )
    audit(
        session,
        at=now,
        actor=client_actor(client.client_id),
        action="token.client_credentials",
        target=issued.jti,
        client_address=client_address,
        scope=granted,
    )
    return TokenResponse(access_token=issued.token, expires_in=issued.expires_in, scope=granted)


async def _authenticated(
    session: AsyncSession,
    settings: GatewaySettings,
    client_id: str,
    secret: str,
    client_address: str | None,
    now: dt.datetime,
) -> ApiClient:
    """The client these credentials authenticate; a failure is audited, then raised."""
    try:
        return await _authenticate_client(session, settings, client_id, secret)
    except InvalidClient as exc:
        audit(
            session,
            at=now,
            actor=client_actor(client_id[:64]),
            action="client.auth_failed",
            client_address=client_address,
            reason=exc.description,
        )
        raise


def _granted(
    client: ApiClient, scope: str | None, settings: GatewaySettings
) -> tuple[str, list[str]]:
    """The scopes granted (those asked for, else all the client has) and their audiences."""
    wanted = scope.split() if scope else list(client.scopes)
    refused = sorted(set(wanted) - set(client.scopes))
    if refused:
        raise InvalidScope(f"Scopes not granted to this client: {' '.join(refused)[:300]}")
    audience = audiences_for(wanted, settings)
    if not audience:
        raise InvalidScope("None of the requested scopes is for a service this gateway serves")
    return " ".join(sorted(set(wanted))), audience
