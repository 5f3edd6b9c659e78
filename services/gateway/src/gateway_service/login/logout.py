"""Logout: the end of a session, and SAML single logout with Latvija.lv.

`start_logout` ends the session of a refresh token and, for a Latvija.lv session, sends the
person on to the IdP with a LogoutRequest; `finish_logout` takes the IdP's answer back to
`return_to`. `idp_logout` ends the sessions an IdP-initiated LogoutRequest names.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service.config import GatewaySettings
from gateway_service.exceptions import (
    InvalidLogoutState,
)
from gateway_service.login import latvija, latvija_slo
from gateway_service.login.flow import (
    check_return_to,
    family_of,
    name_id_hmac,
    redirect_with,
)
from gateway_service.login.providers import saml_endpoints
from gateway_service.models import LogoutAttempt, RefreshFamily
from gateway_service.repository import LoginRepository, RefreshRepository
from gateway_service.service.common import audit, person_actor
from gateway_service.service.sessions import revoke_refresh_token
from shared_kit.crypto import RotatingCipher

# -----------------------------------------------------------------------------------------


async def start_logout(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    refresh_token: str,
    return_to: str,
    client_state: str | None,
    client_address: str | None,
    now: dt.datetime,
) -> str:
    """End a refresh token's session; returns the IdP's logout URL (Latvija.lv) or `return_to`."""
    check_return_to(return_to, settings)
    family = await family_of(session, refresh_token)
    await revoke_refresh_token(
        session=session, token=refresh_token, client_address=client_address, now=now
    )
    if family is None:
        return _back(return_to, client_state)
    single = family.saml_name_id_encrypted is not None
    audit(
        session,
        at=now,
        actor=person_actor(family.person_id),
        action="logout.started",
        target=str(family.id),
        client_address=client_address,
        idp=family.idp,
        single_logout=single,
    )
    if not single:
        return _back(return_to, client_state)
    return await _to_idp(session, settings, family, return_to, client_state, now)


def _back(return_to: str, client_state: str | None) -> str:
    return redirect_with(return_to, {"state": client_state} if client_state else {})


async def _to_idp(
    session: AsyncSession,
    settings: GatewaySettings,
    family: RefreshFamily,
    return_to: str,
    client_state: str | None,
    now: dt.datetime,
) -> str:
    """Remember the logout under a fresh LogoutRequest ID; the IdP's URL with that request."""
    assert family.saml_name_id_encrypted is not None
    request_id = "_" + secrets.token_hex(20)
    name_id = RotatingCipher(settings.key_encryption_key).decrypt(family.saml_name_id_encrypted)
    url = await asyncio.to_thread(
        latvija_slo.logout_request_url,
        saml_endpoints(settings),
        name_id,
        family.saml_session_index,
        request_id,
    )
    repo = LoginRepository(session)
    await repo.drop_expired(now)
    await repo.add(
        LogoutAttempt(
            request_id=request_id,
            person_id=family.person_id,
            family_id=family.id,
            return_to=return_to,
            client_state=client_state,
            expires_at=now + dt.timedelta(seconds=settings.login_attempt_ttl_s),
        )
    )
    return url


async def finish_logout(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    params: Mapping[str, str],
    client_address: str | None,
    now: dt.datetime,
) -> str:
    """The IdP's LogoutResponse: verified, matched to our logout; returns its `return_to`."""
    request_id = await asyncio.to_thread(
        latvija_slo.logout_response_of, saml_endpoints(settings), params
    )
    attempt = await LoginRepository(session).logout_for_update(request_id)
    if attempt is None:
        raise InvalidLogoutState("Unknown logout; log out again from the application")
    if attempt.used_at is not None:
        raise InvalidLogoutState("This logout was already finished")
    if attempt.expires_at <= now:
        raise InvalidLogoutState("This logout expired; your session had already ended")
    attempt.used_at = now
    audit(
        session,
        at=now,
        actor=person_actor(attempt.person_id),
        action="logout.completed",
        target=str(attempt.family_id),
        client_address=client_address,
        idp=latvija.NAME,
    )
    return _back(attempt.return_to, attempt.client_state)


async def idp_logout(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    params: Mapping[str, str],
    client_address: str | None,
    now: dt.datetime,
) -> str:
    """An IdP-initiated LogoutRequest: end its sessions; returns the IdP's URL with our answer."""
    endpoints = saml_endpoints(settings)
    logout = await asyncio.to_thread(latvija_slo.idp_logout_of, endpoints, params, now)
    families = await RefreshRepository(session).live_saml_families(
        name_id_hmac(settings, logout.name_id), logout.session_indexes
    )
    await _end_saml_sessions(session, families, client_address, now)
    audit(
        session,
        at=now,
        actor=person_actor(families[0].person_id) if families else "anonymous",
        action="logout.idp_initiated",
        client_address=client_address,
        idp=latvija.NAME,
        sessions=len(families),
    )
    return await asyncio.to_thread(latvija_slo.logout_response_url, endpoints, logout)


async def _end_saml_sessions(
    session: AsyncSession,
    families: Sequence[RefreshFamily],
    client_address: str | None,
    now: dt.datetime,
) -> None:
    """Revoke the refresh families an IdP-initiated logout names, each audited."""
    repo = RefreshRepository(session)
    for family in families:
        await repo.revoke_family(family.id, "saml_logout", now)
        audit(
            session,
            at=now,
            actor=person_actor(family.person_id),
            action="session.revoked",
            target=str(family.id),
            client_address=client_address,
            idp=latvija.NAME,
            via="idp_logout",
        )
