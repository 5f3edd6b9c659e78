"""Gateway test fixtures: a fresh migrated database per test, the real broker, real tokens
(the test issuer's for callers of the admin API, the gateway's own where a test logs in), and a
clock the tests move."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service.config import GatewaySettings
from gateway_service.main import MIGRATIONS, create_app
from shared_kit.auth import JWKSVerifier
from shared_kit.db import session_scope
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer
from shared_kit.testing.tokens import AudienceTokens, TokenIssuer

ISSUER = "http://gateway.test"
RIGA = "0010000"
VALMIERA = "0940200"
# Made-up personal codes in the valid format (never a real person's).
ADMIN_CODE = "010190-10001"
PERSON_CODE = "020290-20002"
OTHER_CODE = "030390-30003"
PEPPER = "test-pepper-0123456789-0123456789-abc"
PLATFORM_ADMIN = "5b0e3c1a-0000-4000-8000-00000000a001"  # the subject of tokens.platform


@pytest.fixture(scope="session")
def kek() -> str:
    """The key-encryption key of this test session."""
    return Fernet.generate_key().decode()


@pytest.fixture
async def settings(
    service_settings: Callable[..., Awaitable[Any]], token_issuer: TokenIssuer, kek: str
) -> GatewaySettings:
    """Settings bound to this test's database and topic; the admin API trusts the test issuer
    (audience `gateway`, as its own tokens have), and the gateway signs as `ISSUER`."""
    settings: GatewaySettings = await service_settings(
        GatewaySettings,
        MIGRATIONS,
        jwt_issuer=token_issuer.issuer,
        issuer=ISSUER,
        jwks_max_age_s=0,  # rotate at once; TestRotation checks the propagation guard
        key_encryption_key=kek,
        personal_code_pepper=PEPPER,
        bootstrap_admin_personal_code=ADMIN_CODE,
        token_rate_per_s=1000,
        token_rate_burst=1000,
        login_rate_per_s=1000,
        login_rate_burst=1000,
    )
    return settings


@pytest.fixture
def clock() -> TestClock:
    """This test's clock: the real time when the test starts (the kit's verifier checks the
    gateway's tokens against that), a millisecond later at each reading; tests of expiry move it."""
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return TestClock(start, tick=dt.timedelta(milliseconds=1))


@pytest.fixture
def app(settings: GatewaySettings, clock: TestClock) -> FastAPI:
    """The gateway app of this test, on the test's clock."""
    return create_app(settings, clock)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Client of a running gateway app (no background workers)."""
    async with running_app(app) as c:
        yield c


@pytest.fixture
async def db(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[AsyncSession]:
    """A session on the running app's database, committed at the end of the test body."""
    async for session in session_scope(app.state.sessions):
        yield session


def verifier(client: httpx.AsyncClient, audience: str, issuer: str = ISSUER) -> JWKSVerifier:
    """The kit's verifier, reading the gateway's JWKS through the test client."""
    return JWKSVerifier(
        "http://testserver/.well-known/jwks.json",
        audience=audience,
        issuer=issuer,
        min_refresh_interval_s=0,
        client=client,
    )


class Tokens(AudienceTokens):
    """Ready-made tokens (audience `gateway`, from the test issuer) for callers of the admin API."""

    def __init__(self, issuer: TokenIssuer) -> None:
        super().__init__(issuer, "gateway")
        self.platform = self.mint(PLATFORM_ADMIN, roles=["platform_admin"])
        self.riga = self.mint(roles=["municipality_admin"], municipalities=[RIGA])
        self.valmiera = self.mint(roles=["municipality_admin"], municipalities=[VALMIERA])
        self.technician = self.mint(roles=["technician"], municipalities=[RIGA])
        self.contracts = self.mint(
            "contracts-service",
            roles=["service"],
            client_id="contracts-service",
            scope="people:personal-code",
        )
        self.other_service = self.mint(
            "tickets-service", roles=["service"], client_id="tickets", scope="tickets:read"
        )


@pytest.fixture(scope="session")
def tokens(token_issuer: TokenIssuer) -> Tokens:
    """Tokens for platform admin, municipality admins, a technician and services."""
    return Tokens(token_issuer)


def basic(client_id: str, secret: str) -> dict[str, str]:
    """HTTP Basic client authentication header."""
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def make_client(
    client: httpx.AsyncClient,
    token: str,
    *,
    scopes: list[str],
    municipality: str | None = RIGA,
    name: str = "Rīgas platforma",
) -> dict[str, Any]:
    """Register an API client through the admin API; returns the body with its secret."""
    r = await client.post(
        "/api/v1/gateway/clients",
        json={"name": name, "municipality_code": municipality, "scopes": scopes},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def client_token(
    client: httpx.AsyncClient, client_id: str, secret: str, scope: str | None = None
) -> httpx.Response:
    """POST /oauth/token with the client-credentials grant and HTTP Basic."""
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    return await client.post("/oauth/token", data=form, headers=basic(client_id, secret))
