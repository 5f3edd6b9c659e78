"""The login flow every identity provider shares: start, complete, map to VIIS, hand back a code.

1. `start_login`: a calling app (a public client) sends the person here with its `return_to`,
   `state` and PKCE `code_challenge`; we remember the attempt under a fresh `state` of our own
   and send the person to the provider.
2. `complete_login`: the provider's callback; the attempt is used up, the provider's identity
   checked against VIIS, and the person sent back to `return_to` with a one-minute code.
3. `redeem_code`: the app exchanges code + `code_verifier` at `/oauth/token` for tokens.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import secrets
import uuid
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import crypto
from gateway_service.config import GatewaySettings
from gateway_service.exceptions import (
    IdentityProviderFailed,
    InvalidGrant,
    InvalidLoginRequest,
    InvalidLoginState,
    InvalidPersonalCode,
    InvalidRequest,
    ReturnToNotAllowed,
    SchoolMismatch,
    ViisUnavailableProblem,
)
from gateway_service.login import latvija
from gateway_service.login.base import IdentityAssertion, IdentityProvider
from gateway_service.login.pages import Lang
from gateway_service.models import AuthorizationCode, LoginAttempt, Person, RefreshFamily
from gateway_service.repository import LoginRepository, PersonRepository, RefreshRepository
from gateway_service.schemas import TokenResponse
from gateway_service.service import roles
from gateway_service.service.common import audit, person_actor
from gateway_service.service.people import resolve_person
from gateway_service.service.sessions import LoginClaims, start_session
from shared_kit.auth import Role
from shared_kit.crypto import RotatingCipher
from shared_kit.viis import StaffRole, ViisDirectory, ViisError, ViisPerson

_CHALLENGE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def check_return_to(return_to: str, settings: GatewaySettings) -> None:
    """Refuse a `return_to` whose origin is not exactly one of the allowed ones."""
    parts = urlsplit(return_to)
    origin = f"{parts.scheme}://{parts.netloc}"
    if (
        parts.scheme not in ("http", "https")
        or "@" in parts.netloc
        or parts.fragment
        or origin not in settings.return_to_allowed
    ):
        raise ReturnToNotAllowed("return_to must be an address of an application we know")


def _check_challenge(code_challenge: str, method: str) -> None:
    if method != "S256":
        raise InvalidLoginRequest("code_challenge_method must be S256")
    if not 43 <= len(code_challenge) <= 128 or set(code_challenge) - _CHALLENGE_CHARS:
        raise InvalidLoginRequest("code_challenge must be a base64url S256 challenge (RFC 7636)")


async def start_login(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    provider: IdentityProvider,
    return_to: str,
    client_state: str | None,
    code_challenge: str,
    code_challenge_method: str,
    now: dt.datetime,
    lang: Lang = "lv",
) -> str:
    """Remember a new login attempt; returns the provider URL to send the person to."""
    check_return_to(return_to, settings)
    _check_challenge(code_challenge, code_challenge_method)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48) if provider.uses_pkce else None
    repo = LoginRepository(session)
    await repo.drop_expired(now)
    await repo.add(
        LoginAttempt(
            provider=provider.name,
            state_sha256=crypto.sha256_hex(state),
            code_verifier=verifier,
            nonce=nonce,
            return_to=return_to,
            client_state=client_state,
            client_code_challenge=code_challenge,
            lang=lang,
            expires_at=now + dt.timedelta(seconds=settings.login_attempt_ttl_s),
        )
    )
    # In a thread: building the SAML request may first fetch the IdP's metadata over HTTP.
    return await asyncio.to_thread(provider.authorization_url, state, nonce, verifier)


async def login_lang(session: AsyncSession, state: str | None) -> Lang | None:
    """The page language chosen when the login of this `state` started (None: unknown)."""
    if not state:
        return None
    lang = await LoginRepository(session).attempt_lang(crypto.sha256_hex(state))
    if lang is None:
        return None
    return "en" if lang == "en" else "lv"


async def take_attempt(
    session: AsyncSession, provider: str, state: str | None, now: dt.datetime
) -> LoginAttempt:
    """The login attempt of a callback, used up (400 problem when unknown, used or expired)."""
    if not state:
        raise InvalidLoginState("The callback carries no state")
    attempt = await LoginRepository(session).attempt_for_update(crypto.sha256_hex(state))
    if attempt is None or attempt.provider != provider:
        raise InvalidLoginState("Unknown login; start again from the application")
    if attempt.used_at is not None:
        raise InvalidLoginState("This login was already completed; start again")
    if attempt.expires_at <= now:
        raise InvalidLoginState("This login expired; start again")
    attempt.used_at = now
    await session.flush()
    return attempt


async def _viis_person(viis: ViisDirectory, assertion: IdentityAssertion) -> ViisPerson | None:
    try:
        return await viis.person_by_personal_code(assertion.personal_code)
    except ValueError:
        raise IdentityProviderFailed(f"{assertion.idp} sent a malformed personal code") from None
    except ViisError:
        raise ViisUnavailableProblem("VIIS cannot be asked who you are right now") from None


def _check_school(assertion: IdentityAssertion, person: ViisPerson | None) -> None:
    """The provider's school must be one where VIIS has the person (or their child)."""
    school = assertion.school_reg_no
    if school is None:
        return
    known: set[str] = set()
    if person is not None:
        known |= {s.institution_reg_no for s in person.staff}
        known |= {g.institution_reg_no for g in person.guardian_of}
        if person.learner is not None:
            known.add(person.learner.institution_reg_no)
    if school not in known:
        raise SchoolMismatch(
            f"{assertion.idp} names a school ({school}) where VIIS does not have you; "
            "ask the school to correct its records"
        )


async def _login_claims(session: AsyncSession, person: ViisPerson | None) -> LoginClaims:
    """Roles, institutions and (for a guardian) the children's person ids, from VIIS."""
    claims = LoginClaims()
    if person is None:
        return claims
    if person.learner is not None:
        claims.roles.append(Role.LEARNER.value)
        claims.institutions.append(person.learner.institution_reg_no)
    people = PersonRepository(session)
    for child in person.guardian_of:
        learner = await people.insert_or_get_by_viis_id(child.learner_viis_id)
        claims.learners.append(str(learner.id))
    if person.guardian_of:
        claims.roles.append(Role.GUARDIAN.value)
    for position in person.staff:
        if position.role in {r.value for r in StaffRole}:
            claims.roles.append(position.role)
            claims.institutions.append(position.institution_reg_no)
    return claims


def redirect_with(return_to: str, params: dict[str, str]) -> str:
    """`return_to` with the parameters added to its query."""
    parts = urlsplit(return_to)
    query = urlencode([*parse_qsl(parts.query), *params.items()])
    return urlunsplit(parts._replace(query=query))


async def complete_login(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    provider: IdentityProvider,
    viis: ViisDirectory,
    params: Mapping[str, str],
    client_address: str | None,
    now: dt.datetime,
) -> str:
    """Finish a login at the provider's callback; returns the app's `return_to` with a code."""
    state = params.get("state")
    attempt = await take_attempt(session, provider.name, state, now)
    assert state is not None
    assertion = await provider.complete(
        params, state=state, code_verifier=attempt.code_verifier, now=now
    )
    viis_person = await _viis_person(viis, assertion)
    _check_school(assertion, viis_person)
    claims = await _login_claims(session, viis_person)
    person = await _person_of(session, settings, assertion, viis_person, now)
    code = await _new_code(session, settings, attempt, assertion, person.id, claims, now)
    await roles.seen_at_login(session, person, viis_person, now)
    audit(
        session,
        at=now,
        actor=person_actor(person.id),
        action="login.completed",
        client_address=client_address,
        idp=assertion.idp,
        roles=list(claims.roles),
    )
    back = {"code": code, **({"state": attempt.client_state} if attempt.client_state else {})}
    return redirect_with(attempt.return_to, back)


async def _person_of(
    session: AsyncSession,
    settings: GatewaySettings,
    assertion: IdentityAssertion,
    viis_person: ViisPerson | None,
    now: dt.datetime,
) -> Person:
    """The platform person the provider named (a malformed personal code is the provider's)."""
    try:
        return await resolve_person(
            session=session,
            settings=settings,
            personal_code=assertion.personal_code,
            now=now,
            given_name=assertion.given_name,
            family_name=assertion.family_name,
            viis_id=viis_person.viis_id if viis_person else None,
        )
    except InvalidPersonalCode:
        raise IdentityProviderFailed(f"{assertion.idp} sent a malformed personal code") from None


async def _new_code(
    session: AsyncSession,
    settings: GatewaySettings,
    attempt: LoginAttempt,
    assertion: IdentityAssertion,
    person_id: uuid.UUID,
    claims: LoginClaims,
    now: dt.datetime,
) -> str:
    """A one-minute authorization code for the completed login (only its hash is kept)."""
    code = crypto.new_secret()
    await LoginRepository(session).add(
        AuthorizationCode(
            code_sha256=crypto.sha256_hex(code),
            person_id=person_id,
            idp=assertion.idp,
            amr=list(assertion.amr),
            auth_time=assertion.auth_time,
            login_claims=dataclasses.asdict(claims),
            return_to=attempt.return_to,
            code_challenge=attempt.client_code_challenge,
            expires_at=now + dt.timedelta(seconds=settings.authorization_code_ttl_s),
            **_saml_session(settings, assertion),
        )
    )
    return code


async def redeem_code(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    code: str | None,
    code_verifier: str | None,
    redirect_uri: str | None,
    client_address: str | None,
    now: dt.datetime,
) -> TokenResponse:
    """`grant_type=authorization_code` for public clients: code + PKCE verifier → tokens."""
    if not code or not code_verifier:
        raise InvalidRequest("The code and code_verifier parameters are required")
    row = await LoginRepository(session).code_for_update(crypto.sha256_hex(code))
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InvalidGrant("Unknown, used or expired authorization code")
    row.used_at = now  # a wrong verifier spends the code too
    if create_s256_code_challenge(code_verifier) != row.code_challenge:
        raise InvalidGrant("The code_verifier does not match the code_challenge")
    if redirect_uri is not None and redirect_uri != row.return_to:
        raise InvalidGrant("redirect_uri differs from the login's return_to")
    person = await PersonRepository(session).get(row.person_id)
    if person is None:
        raise InvalidGrant("The person of this code no longer exists")
    tokens = await start_session(
        session=session,
        settings=settings,
        person=person,
        idp=row.idp,
        amr=row.amr,
        auth_time=row.auth_time,
        now=now,
        login_claims=LoginClaims(**row.login_claims),
        client_address=client_address,
    )
    if row.saml_name_id_encrypted is not None:
        await _hand_on_saml_session(session, row, tokens)
    return tokens


def name_id_hmac(settings: GatewaySettings, name_id: str) -> str:
    """Keyed hash of a SAML NameID's value (it holds the personal code), for lookups."""
    pepper = settings.personal_code_pepper.get_secret_value()
    return crypto.personal_code_hmac(f"saml-name-id:{name_id}", pepper)


def _saml_session(settings: GatewaySettings, assertion: IdentityAssertion) -> dict[str, str | None]:
    """The SAML session columns of a Latvija.lv login: NameID encrypted, its HMAC, SessionIndex."""
    if not isinstance(assertion, latvija.SamlIdentity) or not assertion.name_id:
        return {}
    index = assertion.session_index
    name_id = RotatingCipher(settings.key_encryption_key).encrypt(assertion.name_id)
    return {
        "saml_name_id_encrypted": name_id.decode(),
        "saml_name_id_hmac": name_id_hmac(settings, assertion.name_id_value),
        # An index too long to keep is left out: a logout then names the whole NameID.
        "saml_session_index": index if index and len(index) <= 200 else None,
    }


async def _hand_on_saml_session(
    session: AsyncSession, code: AuthorizationCode, tokens: TokenResponse
) -> None:
    """The new refresh family carries the login's SAML session, for single logout."""
    assert tokens.refresh_token is not None
    family = await family_of(session, tokens.refresh_token)
    assert family is not None
    family.saml_name_id_encrypted = code.saml_name_id_encrypted
    family.saml_name_id_hmac = code.saml_name_id_hmac
    family.saml_session_index = code.saml_session_index
    await session.flush()


async def family_of(session: AsyncSession, refresh_token: str) -> RefreshFamily | None:
    """The session (refresh family) a refresh token belongs to, locked for update."""
    repo = RefreshRepository(session)
    token = await repo.token_for_update(crypto.sha256_hex(refresh_token))
    return None if token is None else await repo.family(token.family_id)
