"""The internal personal-code lookup, the audit log, the rate limit, and no leaks."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from gateway_service.config import GatewaySettings
from gateway_service.main import create_app
from shared_kit.testing.client import running_app
from shared_kit.testing.http import bearer, problem

from .conftest import (
    ADMIN_CODE,
    PERSON_CODE,
    PLATFORM_ADMIN,
    RIGA,
    Tokens,
    client_token,
    make_client,
    verifier,
)
from .test_people import person_id
from .test_sessions import login, refresh

INTERNAL = "/api/v1/gateway/internal/people"
AUDIT = "/api/v1/gateway/audit"
CODE_DIGITS = PERSON_CODE.replace("-", "")


async def audit_actions(client: httpx.AsyncClient, tokens: Tokens, **params: str) -> list[Any]:
    """The audit log as (actor, action, target) triples."""
    r = await client.get(AUDIT, params={"limit": 200, **params}, headers=bearer(tokens.platform))
    assert r.status_code == 200, r.text
    return [(a["actor"], a["action"], a["target"]) for a in r.json()["items"]]


class TestInternalLookup:
    async def test_trusted_service_reads_name_and_code_and_is_audited(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await person_id(app, given_name="Anna", family_name="Bērziņa")
        r = await client.get(f"{INTERNAL}/{person}", headers=bearer(tokens.contracts))
        assert r.status_code == 200, r.text
        assert r.json() == {
            "id": person,
            "given_name": "Anna",
            "family_name": "Bērziņa",
            "personal_code": CODE_DIGITS,
        }
        assert r.headers["cache-control"] == "no-store"
        actions = await audit_actions(client, tokens, action="person.personal_code_read")
        assert actions == [("client:contracts-service", "person.personal_code_read", person)]

    async def test_everyone_else_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await person_id(app)
        for token in (tokens.platform, tokens.riga, tokens.other_service):
            r = await client.get(f"{INTERNAL}/{person}", headers=bearer(token))
            problem(r, 403, "admin-forbidden")
            assert CODE_DIGITS not in r.text
        problem(await client.get(f"{INTERNAL}/{person}"), 401, "unauthorized")
        assert await audit_actions(client, tokens, action="person.personal_code_read") == []

    async def test_unknown_person_is_404(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        r = await client.get(f"{INTERNAL}/{uuid.uuid4()}", headers=bearer(tokens.contracts))
        problem(r, 404, "person-not-found")


class TestWithGatewayTokens:
    """The gateway trusting its own tokens, as in production (its verifier reads its JWKS)."""

    async def test_contracts_client_reads_with_its_client_credentials_token(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        created = await make_client(
            client, tokens.platform, scopes=["people:personal-code"], municipality=None
        )
        person = await person_id(app)
        r = await client_token(client, created["client_id"], created["client_secret"])
        assert r.status_code == 200, r.text
        app.state.verifier = verifier(client, app.state.settings.jwt_audience)
        r = await client.get(f"{INTERNAL}/{person}", headers=bearer(r.json()["access_token"]))
        assert r.status_code == 200, r.text
        assert r.json()["personal_code"] == CODE_DIGITS

    async def test_bootstrap_admin_session_reaches_the_admin_api(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        admin = await login(app, ADMIN_CODE)
        app.state.verifier = verifier(client, app.state.settings.jwt_audience)
        r = await client.get(AUDIT, headers=bearer(admin.access_token))
        assert r.status_code == 200, r.text
        r = await client.get(f"{INTERNAL}/{uuid.uuid4()}", headers=bearer(admin.access_token))
        problem(r, 403, "admin-forbidden")  # people are not machine clients


class TestAudit:
    async def test_logins_grants_clients_and_failures_are_recorded(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await login(app)
        created = await make_client(client, tokens.riga, scopes=["inventory:read"])
        await client_token(client, created["client_id"], created["client_secret"])
        await client_token(client, created["client_id"], "wrong")
        actions = {a[1] for a in await audit_actions(client, tokens)}
        assert actions >= {
            "person.created",
            "session.started",
            "client.created",
            "token.client_credentials",
            "client.auth_failed",
        }
        r = await client.get(AUDIT, headers=bearer(tokens.riga))
        problem(r, 403, "forbidden")

    async def test_callers_are_named_as_in_every_service(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        session = await login(app)
        person = (await verifier(client, "inventory").verify(session.access_token)).subject
        created = await make_client(client, tokens.platform, scopes=["inventory:read"])
        assert created["created_by"] == f"person:{PLATFORM_ADMIN}"
        await client_token(client, created["client_id"], created["client_secret"])
        actors = {(a[0], a[1]) for a in await audit_actions(client, tokens)}
        assert actors >= {
            (f"person:{person}", "session.started"),
            (f"person:{PLATFORM_ADMIN}", "client.created"),
            (f"client:{created['client_id']}", "token.client_credentials"),
        }


class TestRateLimit:
    async def test_token_endpoint_answers_429_with_retry_after(
        self, settings: GatewaySettings
    ) -> None:
        limited = settings.model_copy(update={"token_rate_per_s": 0.5, "token_rate_burst": 3})
        async with running_app(create_app(limited)) as client:
            answers = [
                await client.post("/oauth/token", data={"grant_type": "client_credentials"})
                for _ in range(4)
            ]
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert answers[-1].json()["error"] == "rate_limited"
        assert int(answers[-1].headers["retry-after"]) >= 1


class TestNoPersonalCodes:
    async def test_no_response_outside_the_internal_endpoint_contains_one(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await person_id(app, given_name="Anna", family_name="Bērziņa")
        session = await login(app)
        assert session.refresh_token
        created = await make_client(client, tokens.platform, scopes=["inventory:read"])
        grant = await client.post(
            "/api/v1/gateway/grants",
            json={"person_id": person, "role": "technician", "municipality_code": RIGA},
            headers=bearer(tokens.platform),
        )
        platform = bearer(tokens.platform)
        bodies = [
            session.model_dump_json(),
            grant.text,
            (await refresh(client, session.refresh_token)).text,
            (await client_token(client, created["client_id"], created["client_secret"])).text,
            (await client.get("/api/v1/gateway/grants", headers=platform)).text,
            (await client.get(AUDIT, params={"limit": 200}, headers=platform)).text,
            (await client.get("/api/v1/gateway/clients", headers=platform)).text,
            (await client.get("/.well-known/jwks.json")).text,
            (await client.get("/openapi.json")).text,
        ]
        for body in bodies:
            assert CODE_DIGITS not in body
            assert PERSON_CODE not in body
