"""The granted role `programme_manager`: national like the analyst's, granted and revoked by a
platform admin only, carried in tokens, in `/me` and in `identity.events`."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from shared_kit.testing.http import bearer, problem

from .conftest import RIGA, Tokens
from .test_identity_events import announced, assert_nothing_personal, roles_of
from .test_login_oauth import (  # noqa: F401 (fixtures)
    PEOPLE,
    claims_of,
    login,
    settings,
    standins,
)
from .test_me import ME, _token_of
from .test_people import GRANTS, grant

pytestmark = pytest.mark.slow
ROLE = "programme_manager"
MANAGER = PEOPLE[ROLE]


async def first_login(client: httpx.AsyncClient) -> str:
    """The demo programme manager logs in once (no role yet); their platform id."""
    claims = await claims_of(client, await login(client, "mykoob", ROLE))
    assert ROLE not in claims.get("roles", [])
    return str(claims["sub"])


class TestGrantingTheRole:
    async def test_a_platform_admin_grants_it_and_the_token_carries_it(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await first_login(client)
        r = await grant(client, tokens.platform, person, ROLE)
        assert r.status_code == 201, r.text
        assert (r.json()["role"], r.json()["municipality_code"]) == (ROLE, None)
        claims = await claims_of(client, await login(client, "mykoob", ROLE))
        assert claims["sub"] == person and ROLE in claims["roles"]
        assert not claims.get("municipalities") and not claims.get("institutions")
        me = await client.get(ME, headers=bearer(await _token_of(app, client, ROLE)))
        assert me.status_code == 200, me.text
        assert (me.json()["given_name"], me.json()["roles"]) == ("Inese", [ROLE])

    async def test_a_revocation_takes_it_from_the_next_token(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await first_login(client)
        granted = await grant(client, tokens.platform, person, ROLE)
        revoked = await client.post(
            f"{GRANTS}/{granted.json()['id']}/revoke", headers=bearer(tokens.platform)
        )
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        claims = await claims_of(client, await login(client, "mykoob", ROLE))
        assert ROLE not in claims.get("roles", [])

    async def test_identity_events_announce_the_grant_and_the_revocation(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await first_login(client)
        granted = await grant(client, tokens.platform, person, ROLE)
        await client.post(
            f"{GRANTS}/{granted.json()['id']}/revoke", headers=bearer(tokens.platform)
        )
        rows = await announced(app)
        assert [roles_of(row) for row in rows] == [[(ROLE, None, None)], []]
        name = (MANAGER.given_name, MANAGER.family_name)
        assert_nothing_personal(rows, MANAGER.personal_code, *name)


class TestRefusals:
    async def test_a_municipality_admin_cannot_grant_it(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await first_login(client)
        problem(await grant(client, tokens.riga, person, ROLE), 403, "admin-forbidden")
        with_place = await grant(client, tokens.riga, person, ROLE, municipality_code=RIGA)
        assert with_place.status_code in (403, 422)
        listed = await client.get(GRANTS, params={"role": ROLE}, headers=bearer(tokens.platform))
        assert listed.json()["items"] == []

    async def test_it_names_no_municipality(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await first_login(client)
        r = await grant(client, tokens.platform, person, ROLE, municipality_code=RIGA)
        problem(r, 422, "invalid-grant-target")
