"""Signing keys (creation, rotation, JWKS), discovery metadata, and access tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import crypto
from gateway_service.config import GatewaySettings
from gateway_service.exceptions import AdminForbidden, KeyNotPropagated
from gateway_service.models import KeyState, SigningKey
from gateway_service.repository import SigningKeyRepository
from gateway_service.service.common import SCOPES, audit
from shared_kit.auth import Principal, Role
from shared_kit.clock import Clock
from shared_kit.crypto import RotatingCipher
from shared_kit.tenancy import actor_of

ALG = "ES256"
CLAIMS = (
    "iss", "sub", "aud", "exp", "iat", "jti", "roles", "municipalities", "institutions",
    "learners", "idp", "amr", "auth_time", "client_id", "scope",
)  # fmt: skip

# Decrypted private keys by kid; a kid never changes its key, so entries never go stale.
_private_keys: dict[str, ECKey] = {}


async def _create_key(
    repo: SigningKeyRepository, settings: GatewaySettings, state: KeyState, now: dt.datetime
) -> SigningKey:
    key = crypto.new_signing_key()
    kek = RotatingCipher(settings.key_encryption_key)
    row = SigningKey(
        kid=str(key.kid),
        alg=ALG,
        state=state,
        public_jwk=crypto.public_jwk(key),
        private_key_encrypted=kek.encrypt(crypto.private_pem(key)).decode(),
        # The service's time, not the database's: rotation compares it with the clock.
        created_at=now,
        activated_at=now if state is KeyState.ACTIVE else None,
    )
    await repo.add(row)
    _private_keys[row.kid] = key
    return row


async def ensure_keys(
    *, session: AsyncSession, settings: GatewaySettings, now: dt.datetime
) -> None:
    """Create the active and the next key when missing (serialised across replicas)."""
    repo = SigningKeyRepository(session)
    await repo.lock()
    if await repo.by_state(KeyState.ACTIVE) is None:
        await _create_key(repo, settings, KeyState.ACTIVE, now)
    if await repo.by_state(KeyState.NEXT) is None:
        await _create_key(repo, settings, KeyState.NEXT, now)


async def rotate_keys(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    principal: Principal,
    client_address: str | None,
    clock: Clock,
    force: bool = False,
) -> Sequence[SigningKey]:
    """Promote next → active, active → retired, and create a new next key."""
    if not principal.has(Role.PLATFORM_ADMIN):
        raise AdminForbidden("Only platform administrators rotate the signing keys")
    repo = SigningKeyRepository(session)
    await repo.lock()
    # Read after the lock: a rotation that waited for another sees that one's keys as older.
    now = clock()
    await ensure_keys(session=session, settings=settings, now=now)
    active, upcoming = await repo.by_state(KeyState.ACTIVE), await repo.by_state(KeyState.NEXT)
    assert active is not None and upcoming is not None
    if not force:
        _ensure_propagated(upcoming, settings, now)
    active.state, active.retired_at = KeyState.RETIRED, now
    # Tokens it signed live at most one access-token lifetime (plus verifiers' leeway).
    active.publish_until = now + dt.timedelta(
        seconds=settings.access_token_ttl_s + settings.jwt_leeway_s
    )
    await session.flush()  # one active key at a time: retire before promoting
    upcoming.state, upcoming.activated_at = KeyState.ACTIVE, now
    await session.flush()
    await _create_key(repo, settings, KeyState.NEXT, now)
    await repo.drop_expired(now)
    audit(
        session,
        at=now,
        actor=actor_of(principal),
        action="keys.rotated",
        target=upcoming.kid,
        client_address=client_address,
        retired=active.kid,
    )
    return await repo.published(now)


def _ensure_propagated(upcoming: SigningKey, settings: GatewaySettings, at: dt.datetime) -> None:
    # A verifier may serve the JWKS from its cache for max-age seconds; a key signs only
    # once every such cache has seen it (`force` is for an emergency, e.g. a leaked key).
    age = (at - upcoming.created_at).total_seconds()
    if age < settings.jwks_max_age_s:
        wait = int(settings.jwks_max_age_s - age) + 1
        raise KeyNotPropagated(
            f"The next key was published {int(age)} s ago and JWKS caches last "
            f"{settings.jwks_max_age_s} s: retry in {wait} s, or rotate with force=true "
            "if the active key is compromised",
            retry_after_s=wait,
        )


async def published_keys(
    *, session: AsyncSession, settings: GatewaySettings, now: dt.datetime
) -> Sequence[SigningKey]:
    """Keys for the JWKS; creates the first keys on first use."""
    repo = SigningKeyRepository(session)
    keys = await repo.published(now)
    if not any(k.state is KeyState.ACTIVE for k in keys):
        await ensure_keys(session=session, settings=settings, now=now)
        keys = await repo.published(now)
    return keys


def jwks(keys: Sequence[SigningKey]) -> dict[str, Any]:
    """A JWK Set of the public keys."""
    return {"keys": [dict(k.public_jwk) for k in keys]}


async def _signing_key(session: AsyncSession, settings: GatewaySettings, now: dt.datetime) -> ECKey:
    repo = SigningKeyRepository(session)
    row = await repo.by_state(KeyState.ACTIVE)
    if row is None:
        await ensure_keys(session=session, settings=settings, now=now)
        row = await repo.by_state(KeyState.ACTIVE)
        assert row is not None
    key = _private_keys.get(row.kid)
    if key is None:
        kek = RotatingCipher(settings.key_encryption_key)
        key = crypto.load_private_key(kek.decrypt(row.private_key_encrypted), row.kid)
        _private_keys[row.kid] = key
    return key


def discovery(settings: GatewaySettings) -> dict[str, Any]:
    """OpenID Provider / OAuth 2.0 authorization server metadata."""
    base = settings.issuer.rstrip("/")
    return {
        "issuer": settings.issuer,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "authorization_endpoint": f"{base}/login",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALG],
        "token_endpoint_auth_signing_alg_values_supported": [ALG],
        "claims_supported": list(CLAIMS),
    }


@dataclass(frozen=True)
class IssuedToken:
    """A signed access token and what a token response says about it."""

    token: str
    expires_in: int
    jti: str


async def issue_access_token(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    now: dt.datetime,
    subject: str,
    audience: Sequence[str] | None = None,
    roles: Sequence[str] = (),
    municipalities: Sequence[str] = (),
    institutions: Sequence[str] = (),
    learners: Sequence[str] = (),
    idp: str | None = None,
    amr: Sequence[str] = (),
    auth_time: dt.datetime | None = None,
    client_id: str | None = None,
    scope: str | None = None,
) -> IssuedToken:
    """Sign an access JWT with the active key (`sub` is an opaque id, never a personal code)."""
    key = await _signing_key(session, settings, now)
    issued_at = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "sub": subject,
        "aud": list(audience if audience is not None else settings.audiences),
        "iat": issued_at,
        "exp": issued_at + settings.access_token_ttl_s,
        "jti": uuid.uuid4().hex,
        "roles": sorted(set(roles)),
        "municipalities": sorted(set(municipalities)),
        "institutions": sorted(set(institutions)),
        "learners": sorted(set(learners)),
    }
    if idp is not None:
        claims |= {"idp": idp, "amr": list(amr)}
    if auth_time is not None:
        claims["auth_time"] = int(auth_time.timestamp())
    if client_id is not None:
        claims |= {"client_id": client_id, "scope": scope or ""}
    token = jwt.encode({"alg": ALG, "kid": key.kid, "typ": "at+jwt"}, claims, key)
    return IssuedToken(token=token, expires_in=settings.access_token_ttl_s, jti=claims["jti"])
