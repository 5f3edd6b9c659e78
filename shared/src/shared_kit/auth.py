"""Token verification against the gateway's JWKS, and the Principal every endpoint sees."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from shared_kit.clock import Clock, system_clock
from shared_kit.problems import Forbidden, ServiceUnavailable, Unauthorized

logger = logging.getLogger(__name__)

ALGORITHMS = ["ES256", "EdDSA", "RS256"]
VERIFIED_CACHE_SIZE = 10_000


class Role(StrEnum):
    """Roles the gateway grants; VIIS-derived roles and platform-granted ones."""

    PLATFORM_ADMIN = "platform_admin"
    MINISTRY_ANALYST = "ministry_analyst"
    PROGRAMME_MANAGER = "programme_manager"  # the ministry's survey and allocation rounds
    MUNICIPALITY_ADMIN = "municipality_admin"
    INSTITUTION_ADMIN = "institution_admin"
    TECHNICIAN = "technician"
    TEACHER = "teacher"
    GUARDIAN = "guardian"
    LEARNER = "learner"
    SERVICE = "service"  # a machine client (client-credentials grant)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling and for which tenants they may act."""

    subject: str
    roles: frozenset[str] = frozenset()
    municipalities: frozenset[str] = frozenset()
    institutions: frozenset[str] = frozenset()
    learners: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def has(self, *roles: str) -> bool:
        """True when the principal holds any of the roles."""
        return any(r in self.roles for r in roles)

    def has_scope(self, scope: str) -> bool:
        """True for a user token (scopes do not apply) or a machine token with the scope."""
        return self.client_id is None or scope in self.scopes

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        """Build from verified JWT claims."""

        def _set(name: str) -> frozenset[str]:
            value = claims.get(name) or []
            return frozenset(value.split() if isinstance(value, str) else map(str, value))

        return cls(
            subject=str(claims["sub"]),
            roles=_set("roles"),
            municipalities=_set("municipalities"),
            institutions=_set("institutions"),
            learners=_set("learners"),
            scopes=_set("scope"),
            client_id=claims.get("client_id"),
            claims=claims,
        )


class JWKSVerifier:
    """Verifies access tokens; keys are cached and refetched when an unknown `kid` appears.

    `clock` tells token expiry, `monotonic` the JWKS refetch interval; tests move them.
    """

    def __init__(
        self,
        jwks_url: str,
        *,
        audience: str,
        issuer: str | None = None,
        leeway_s: int = 30,
        min_refresh_interval_s: float = 10.0,
        client: httpx.AsyncClient | None = None,
        clock: Clock = system_clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = jwks_url
        self._clock, self._monotonic = clock, monotonic
        options: dict[str, Any] = {
            "aud": {"essential": True, "value": audience},
            "exp": {"essential": True},
            "sub": {"essential": True},
        }
        if issuer:
            options["iss"] = {"essential": True, "value": issuer}
        self._claims = jwt.JWTClaimsRegistry(now=self._now, leeway=leeway_s, **options)
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._min_refresh = min_refresh_interval_s
        self._lock = asyncio.Lock()
        self._client = client
        self._verified: dict[str, tuple[float, Principal]] = {}

    async def verify(self, token: str) -> Principal:
        """Return the principal of a valid token, or raise Unauthorized."""
        cached = self._verified.get(token)
        if cached is not None and cached[0] > self._clock().timestamp():
            return cached[1]
        principal = await self._verify(token)
        self._remember(token, principal)
        return principal

    def _now(self) -> int:
        return int(self._clock().timestamp())

    def _remember(self, token: str, principal: Principal) -> None:
        # Clients reuse one token for many requests; the signature check is the costly part.
        # Entries live until the token expires; the cache is bounded, oldest dropped first.
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = (float(principal.claims["exp"]), principal)

    async def _verify(self, token: str) -> Principal:
        keys = await self._keyset()
        try:
            try:
                decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
            except InvalidKeyIdError:
                decoded = jwt.decode(token, await self._keyset(refresh=True), algorithms=ALGORITHMS)
            self._claims.validate(decoded.claims)
        except ExpiredTokenError as exc:
            raise Unauthorized("The access token has expired") from exc
        except (JoseError, ValueError) as exc:
            raise Unauthorized(f"The access token is not valid: {exc}") from exc
        return Principal.from_claims(decoded.claims)

    async def _keyset(self, refresh: bool = False) -> KeySet:
        async with self._lock:
            stale = self._monotonic() - self._fetched_at > self._min_refresh
            if self._keys is None or (refresh and stale):
                self._keys = await self._fetch()
                self._fetched_at = self._monotonic()
            return self._keys

    async def _fetch(self) -> KeySet:
        try:
            if self._client is not None:
                response = await self._client.get(self._url)
            else:
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.get(self._url)
            response.raise_for_status()
            return KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            logger.warning("cannot load JWKS from %s: %s", self._url, exc)
            if self._keys is not None:
                return self._keys
            raise ServiceUnavailable("The token signing keys cannot be loaded right now") from exc


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send an access token as 'Authorization: Bearer <token>'")
    return token.strip()


async def current_principal(request: Request) -> Principal:
    """The verified caller; the verifier lives on `app.state.verifier`."""
    verifier: JWKSVerifier = request.app.state.verifier
    principal = await verifier.verify(_bearer(request))
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str, scope: str | None = None) -> Any:
    """Dependency: the caller must hold one of the roles (and, for machines, the scope)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has(*roles):
            raise Forbidden(f"This action needs one of the roles: {', '.join(roles)}")
        if scope and not principal.has_scope(scope):
            raise Forbidden(f"This client lacks the scope '{scope}'")
        return principal

    return Depends(check)
