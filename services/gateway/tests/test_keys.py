"""Signing keys: first keys, JWKS, discovery, rotation without downtime, encryption at rest."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import service
from gateway_service.config import GatewaySettings
from gateway_service.main import create_app
from gateway_service.models import KeyState, SigningKey
from shared_kit.problems import Unauthorized
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer, problem

from .conftest import ISSUER, Tokens, verifier

ROTATE = "/api/v1/gateway/keys/rotate"


async def issue(app: FastAPI, audience: str = "inventory") -> str:
    """An access token signed by the gateway's active key."""
    settings: GatewaySettings = app.state.settings
    async with app.state.sessions() as session, session.begin():
        issued = await service.issue_access_token(
            session=session,
            settings=settings,
            now=app.state.clock(),
            subject="p-1",
            audience=[audience],
        )
    return issued.token


class TestFirstKeys:
    async def test_jwks_publishes_an_active_and_a_next_key(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/.well-known/jwks.json")
        assert r.status_code == 200
        keys = r.json()["keys"]
        assert len(keys) == 2
        assert all(k["kty"] == "EC" and k["crv"] == "P-256" and "d" not in k for k in keys)
        assert "max-age=" in r.headers["cache-control"]

    async def test_concurrent_first_use_creates_one_pair(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        answers = await asyncio.gather(*(client.get("/.well-known/jwks.json") for _ in range(5)))
        assert all(a.status_code == 200 for a in answers)
        async with app.state.sessions() as session:
            states = list(await session.scalars(select(SigningKey.state)))
        assert sorted(states) == sorted([KeyState.ACTIVE, KeyState.NEXT])

    async def test_private_key_is_encrypted_at_rest(
        self, app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
    ) -> None:
        await client.get("/.well-known/jwks.json")
        key = (await db.scalars(select(SigningKey))).first()
        assert key is not None
        assert "PRIVATE KEY" not in key.private_key_encrypted
        assert key.private_key_encrypted.startswith("gAAAA")  # a Fernet token


class TestDiscovery:
    async def test_metadata_points_at_the_endpoints(self, client: httpx.AsyncClient) -> None:
        meta = (await client.get("/.well-known/openid-configuration")).json()
        assert meta["issuer"] == ISSUER
        assert meta["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
        assert meta["token_endpoint"] == f"{ISSUER}/oauth/token"
        assert meta["revocation_endpoint"] == f"{ISSUER}/oauth/revoke"
        assert set(meta["grant_types_supported"]) == {
            "authorization_code",
            "client_credentials",
            "refresh_token",
        }
        assert meta["id_token_signing_alg_values_supported"] == ["ES256"]
        assert "inventory:read" in meta["scopes_supported"]


class TestAccessTokens:
    async def test_verifies_with_the_kit_verifier(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        principal = await verifier(client, "inventory").verify(await issue(app))
        assert principal.subject == "p-1"
        assert set(principal.claims) >= {"iss", "sub", "aud", "exp", "iat", "jti", "roles"}
        assert principal.claims["exp"] - principal.claims["iat"] == 600

    async def test_other_audience_and_issuer_are_refused(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        token = await issue(app, audience="tickets")
        with pytest.raises(Unauthorized):
            await verifier(client, "inventory").verify(token)
        with pytest.raises(Unauthorized):
            await verifier(client, "tickets", issuer="https://evil.example").verify(token)


class TestRotation:
    async def test_only_platform_admins_rotate(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        problem(await client.post(ROTATE, headers=bearer(tokens.riga)), 403, "admin-forbidden")
        problem(await client.post(ROTATE), 401, "unauthorized")

    async def test_old_tokens_stay_valid_and_new_ones_verify(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        before = await client.get("/.well-known/jwks.json")
        old_token = await issue(app)
        seen = verifier(client, "inventory")
        await seen.verify(old_token)  # the verifier caches the JWKS from before the rotation

        r = await client.post(ROTATE, headers=bearer(tokens.platform))
        assert r.status_code == 200, r.text
        states = {k["kid"]: k["state"] for k in r.json()}
        assert sorted(states.values()) == ["active", "next", "retired"]

        new_token = await issue(app)
        assert (await seen.verify(old_token)).subject == "p-1"
        # The new active key was published as `next` before it signed: no refetch needed.
        assert (await seen.verify(new_token)).subject == "p-1"
        old_kids = {k["kid"] for k in before.json()["keys"]}
        assert set(states) - old_kids == {k for k, s in states.items() if s == "next"}

    async def test_refused_until_the_next_key_outlived_jwks_caches_unless_forced(
        self, settings: GatewaySettings, tokens: Tokens, clock: TestClock
    ) -> None:
        cached = settings.model_copy(update={"jwks_max_age_s": 300})
        admin = bearer(tokens.platform)
        async with running_app(create_app(cached, clock)) as client:
            r = await client.post(ROTATE, headers=admin)
            problem(r, 409, "key-not-propagated")
            assert 290 <= r.json()["retry_after_s"] <= 301
            forced = await client.post(ROTATE, params={"force": "true"}, headers=admin)
            assert forced.status_code == 200
            r = await client.post(ROTATE, headers=admin)  # the new next key is just published
            assert r.status_code == 409, r.text
            clock.advance(seconds=r.json()["retry_after_s"])
            assert (await client.post(ROTATE, headers=admin)).status_code == 200

    async def test_concurrent_rotations_keep_one_active_and_one_next(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        answers = await asyncio.gather(
            *(client.post(ROTATE, headers=bearer(tokens.platform)) for _ in range(4))
        )
        assert [a.status_code for a in answers] == [200] * 4
        async with app.state.sessions() as session:
            states = list(await session.scalars(select(SigningKey.state)))
        assert states.count(KeyState.ACTIVE) == 1 and states.count(KeyState.NEXT) == 1
        assert states.count(KeyState.RETIRED) == 4

    async def test_retired_keys_are_dropped_when_their_tokens_expired(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens, clock: TestClock
    ) -> None:
        for _ in range(3):
            assert (await client.post(ROTATE, headers=bearer(tokens.platform))).status_code == 200
        settings: GatewaySettings = app.state.settings
        clock.advance(seconds=settings.access_token_ttl_s + settings.jwt_leeway_s)
        r = await client.post(ROTATE, headers=bearer(tokens.platform))
        assert sorted(k["state"] for k in r.json()) == ["active", "next", "retired"]
        jwks = (await client.get("/.well-known/jwks.json")).json()
        assert len(jwks["keys"]) == 3
