"""Sessions: start_session, refresh rotation, reuse detection, revocation (logout)."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from gateway_service import service
from gateway_service.models import RefreshFamily, RefreshToken
from gateway_service.schemas import TokenResponse
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer

from .conftest import PERSON_CODE, RIGA, Tokens, verifier

AUTH_TIME = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)


async def login(app: FastAPI, code: str = PERSON_CODE) -> TokenResponse:
    """What a login flow does: resolve the person, start a session."""
    async with app.state.sessions() as session, session.begin():
        now = app.state.clock()
        person = await service.resolve_person(
            session=session,
            settings=app.state.settings,
            personal_code=code,
            now=now,
            given_name="Anna",
            family_name="Bērziņa",
        )
        return await service.start_session(
            session=session,
            settings=app.state.settings,
            person=person,
            idp="latvija.lv",
            amr=["smart-id"],
            auth_time=AUTH_TIME,
            now=now,
            login_claims=service.LoginClaims(roles=["guardian"], learners=["learner-1"]),
        )


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    """The refresh-token grant."""
    return await client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )


class TestStartSession:
    async def test_access_token_carries_the_login(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        tokens = await login(app)
        assert tokens.refresh_token
        principal = await verifier(client, "reservations").verify(tokens.access_token)
        claims = principal.claims
        assert claims["idp"] == "latvija.lv" and claims["amr"] == ["smart-id"]
        assert claims["auth_time"] == int(AUTH_TIME.timestamp())
        assert principal.roles == {"guardian"} and principal.learners == {"learner-1"}
        assert "client_id" not in claims
        assert PERSON_CODE.replace("-", "") not in tokens.access_token
        assert "-" in principal.subject  # an opaque UUID, not a personal code

    async def test_refresh_tokens_are_stored_hashed(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        tokens = await login(app)
        async with app.state.sessions() as session:
            stored = list(await session.scalars(select(RefreshToken.token_sha256)))
        assert tokens.refresh_token not in stored and len(stored[0]) == 64

    async def test_same_person_same_subject(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        check = verifier(client, "inventory")
        first = await check.verify((await login(app)).access_token)
        second = await check.verify((await login(app, PERSON_CODE.replace("-", ""))).access_token)
        assert first.subject == second.subject


class TestRefresh:
    async def test_rotation_issues_a_new_pair(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        first = await login(app)
        assert first.refresh_token
        r = await refresh(client, first.refresh_token)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["refresh_token"] != first.refresh_token
        assert body["token_type"] == "Bearer" and r.headers["cache-control"] == "no-store"
        principal = await verifier(client, "inventory").verify(body["access_token"])
        assert principal.claims["idp"] == "latvija.lv"
        assert (await refresh(client, body["refresh_token"])).status_code == 200

    async def test_reuse_revokes_the_family(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        first = await login(app)
        assert first.refresh_token
        second = (await refresh(client, first.refresh_token)).json()["refresh_token"]
        reused = await refresh(client, first.refresh_token)
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        # The thief's (or the victim's) newer token dies with the family.
        after = await refresh(client, second)
        assert after.status_code == 400 and after.json()["error"] == "invalid_grant"
        async with app.state.sessions() as session:
            family = await session.scalar(select(RefreshFamily))
        assert family is not None and family.revoked_reason == "reuse"

    async def test_concurrent_use_of_one_token_lets_one_win_and_ends_the_session(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        first = await login(app)
        assert first.refresh_token
        answers = await asyncio.gather(*(refresh(client, first.refresh_token) for _ in range(2)))
        assert sorted(a.status_code for a in answers) == [200, 400]
        winner = next(a for a in answers if a.status_code == 200).json()["refresh_token"]
        assert (await refresh(client, winner)).status_code == 400

    async def test_an_expired_session_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, clock: TestClock
    ) -> None:
        first = await login(app)
        assert first.refresh_token
        clock.advance(seconds=app.state.settings.refresh_token_ttl_s - 1)
        second = await refresh(client, first.refresh_token)
        assert second.status_code == 200, second.text
        clock.advance(seconds=1)
        late = await refresh(client, second.json()["refresh_token"])
        assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
        assert late.json()["error_description"] == "This session has expired; log in again"

    async def test_unknown_and_missing_tokens(self, client: httpx.AsyncClient) -> None:
        r = await refresh(client, "not-a-token")
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        r = await client.post("/oauth/token", data={"grant_type": "refresh_token"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"

    async def test_refresh_picks_up_new_grants(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        first = await login(app)
        assert first.refresh_token
        sub = (await verifier(client, "inventory").verify(first.access_token)).subject
        r = await client.post(
            "/api/v1/gateway/grants",
            json={"person_id": sub, "role": "technician", "municipality_code": RIGA},
            headers=bearer(tokens.riga),
        )
        assert r.status_code == 201, r.text
        body = (await refresh(client, first.refresh_token)).json()
        principal = await verifier(client, "inventory").verify(body["access_token"])
        assert principal.roles == {"guardian", "technician"}
        assert principal.municipalities == {RIGA}


class TestRevoke:
    async def test_logout_revokes_the_session(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        first = await login(app)
        assert first.refresh_token
        r = await client.post("/oauth/revoke", data={"token": first.refresh_token})
        assert r.status_code == 200
        after = await refresh(client, first.refresh_token)
        assert after.status_code == 400 and after.json()["error"] == "invalid_grant"

    async def test_unknown_tokens_are_accepted_and_missing_one_is_invalid(
        self, client: httpx.AsyncClient
    ) -> None:
        assert (await client.post("/oauth/revoke", data={"token": "nope"})).status_code == 200
        r = await client.post("/oauth/revoke", data={})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
