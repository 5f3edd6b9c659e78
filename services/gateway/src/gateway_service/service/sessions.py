"""Login sessions: access tokens with rotating refresh tokens in families."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import crypto
from gateway_service.config import GatewaySettings
from gateway_service.exceptions import InvalidGrant
from gateway_service.models import Person, RefreshFamily, RefreshToken
from gateway_service.repository import GrantRepository, RefreshRepository
from gateway_service.schemas import TokenResponse
from gateway_service.service.common import audit, person_actor
from gateway_service.service.tokens import issue_access_token


@dataclass
class LoginClaims:
    """What a login learnt about the person from VIIS or the identity provider."""

    roles: list[str] = field(default_factory=list)
    municipalities: list[str] = field(default_factory=list)
    institutions: list[str] = field(default_factory=list)
    learners: list[str] = field(default_factory=list)


async def _person_claims(
    session: AsyncSession, person_id: uuid.UUID, login: LoginClaims
) -> LoginClaims:
    grants = await GrantRepository(session).live_for(person_id)
    return LoginClaims(
        roles=[*login.roles, *(g.role.value for g in grants)],
        municipalities=[*login.municipalities, *_present(g.municipality_code for g in grants)],
        institutions=[*login.institutions, *_present(g.institution_number for g in grants)],
        learners=list(login.learners),
    )


def _present(values: Iterable[str | None]) -> list[str]:
    return [v for v in values if v]


async def _tokens_for(
    session: AsyncSession, settings: GatewaySettings, family: RefreshFamily, now: dt.datetime
) -> TokenResponse:
    refresh = crypto.new_secret()
    await RefreshRepository(session).add_token(
        RefreshToken(family_id=family.id, token_sha256=crypto.sha256_hex(refresh))
    )
    claims = await _person_claims(session, family.person_id, LoginClaims(**family.login_claims))
    issued = await issue_access_token(
        session=session,
        settings=settings,
        now=now,
        subject=str(family.person_id),
        audience=family.audience,
        idp=family.idp,
        amr=family.amr,
        auth_time=family.auth_time,
        **asdict(claims),
    )
    return TokenResponse(
        access_token=issued.token, expires_in=issued.expires_in, refresh_token=refresh
    )


async def start_session(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    person: Person,
    idp: str,
    amr: Sequence[str],
    auth_time: dt.datetime,
    audience: Sequence[str] | None = None,
    now: dt.datetime,
    login_claims: LoginClaims | None = None,
    client_address: str | None = None,
) -> TokenResponse:
    """After a login: an access token and the first refresh token of a new family."""
    family = RefreshFamily(
        person_id=person.id,
        idp=idp,
        amr=list(amr),
        auth_time=auth_time,
        # By default the services and the gateway's own admin API.
        audience=list(audience or [*settings.audiences, settings.jwt_audience]),
        login_claims=asdict(login_claims or LoginClaims()),
        expires_at=now + dt.timedelta(seconds=settings.refresh_token_ttl_s),
    )
    await RefreshRepository(session).add_family(family)
    person.last_login_at = now
    audit(
        session,
        at=now,
        actor=person_actor(person.id),
        action="session.started",
        target=str(family.id),
        client_address=client_address,
        idp=idp,
        amr=list(amr),
    )
    return await _tokens_for(session, settings, family, now)


async def refresh_session(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    refresh_token: str,
    client_address: str | None,
    now: dt.datetime,
) -> TokenResponse:
    """Rotate a refresh token; a spent one revokes its whole family (theft detection)."""
    repo = RefreshRepository(session)
    token = await repo.token_for_update(crypto.sha256_hex(refresh_token))
    if token is None:
        raise InvalidGrant("Unknown refresh token")
    family = await repo.family(token.family_id)
    assert family is not None
    if family.revoked_at is not None:
        raise InvalidGrant("This session has ended; log in again")
    if token.used_at is not None:
        await repo.revoke_family(family.id, "reuse", now)
        audit(
            session,
            at=now,
            actor=person_actor(family.person_id),
            action="session.reuse_detected",
            target=str(family.id),
            client_address=client_address,
        )
        raise InvalidGrant("This refresh token was already used; the session is revoked")
    if family.expires_at <= now:
        raise InvalidGrant("This session has expired; log in again")
    token.used_at = now
    return await _tokens_for(session, settings, family, now)


async def revoke_refresh_token(
    *, session: AsyncSession, token: str, client_address: str | None, now: dt.datetime
) -> None:
    """RFC 7009: end the session a refresh token belongs to (unknown tokens are ignored)."""
    repo = RefreshRepository(session)
    row = await repo.token_for_update(crypto.sha256_hex(token))
    if row is None:
        return
    family = await repo.family(row.family_id)
    assert family is not None
    if family.revoked_at is None:
        await repo.revoke_family(family.id, "logout", now)
        audit(
            session,
            at=now,
            actor=person_actor(family.person_id),
            action="session.revoked",
            target=str(family.id),
            client_address=client_address,
        )


# Ended sessions are kept a while so that a reused refresh token is still recognised (and its
# reuse audited) rather than being merely unknown.
ENDED_SESSION_RETENTION = dt.timedelta(days=30)


async def purge_ended_sessions(session: AsyncSession, at: dt.datetime) -> dict[str, int]:
    """Housekeeping: delete refresh families that ended more than the retention ago."""
    deleted = await RefreshRepository(session).delete_ended(at - ENDED_SESSION_RETENTION)
    return {"refresh_families": deleted}
