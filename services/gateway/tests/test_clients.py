"""Machine clients: the admin API and the client-credentials grant."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service.models import ApiClient
from shared_kit.testing.http import bearer, problem

from .conftest import RIGA, VALMIERA, Tokens, basic, client_token, make_client, verifier

CLIENTS = "/api/v1/gateway/clients"
RW = ["inventory:read", "inventory:write"]


class TestAdminApi:
    async def test_create_returns_the_secret_once_and_stores_a_hash(
        self, client: httpx.AsyncClient, tokens: Tokens, db: AsyncSession
    ) -> None:
        created = await make_client(client, tokens.platform, scopes=RW)
        assert created["client_id"].startswith("cl_") and len(created["client_secret"]) >= 43
        fetched = await client.get(f"{CLIENTS}/{created['client_id']}", headers=bearer(tokens.riga))
        assert fetched.status_code == 200
        assert "client_secret" not in fetched.json()
        row = await db.scalar(select(ApiClient).where(ApiClient.client_id == created["client_id"]))
        assert row is not None and row.secret_hash.startswith("sha256$")
        assert created["client_secret"] not in row.secret_hash

    async def test_municipality_admins_manage_only_their_own(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        mine = await make_client(client, tokens.riga, scopes=RW)
        r = await client.post(
            CLIENTS,
            json={"name": "x", "municipality_code": VALMIERA, "scopes": RW},
            headers=bearer(tokens.riga),
        )
        problem(r, 403, "admin-forbidden")
        other = await client.get(f"{CLIENTS}/{mine['client_id']}", headers=bearer(tokens.valmiera))
        problem(other, 403, "admin-forbidden")
        listed = await client.get(CLIENTS, headers=bearer(tokens.valmiera))
        assert listed.json()["items"] == []
        r = await client.get(CLIENTS, headers=bearer(tokens.technician))
        problem(r, 403, "admin-forbidden")

    async def test_unknown_and_privileged_scopes_are_refused(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        body = {"name": "x", "municipality_code": RIGA, "scopes": ["inventory:fly"]}
        r = await client.post(CLIENTS, json=body, headers=bearer(tokens.platform))
        problem(r, 422, "unknown-scope")
        body["scopes"] = ["people:personal-code"]
        r = await client.post(CLIENTS, json=body, headers=bearer(tokens.riga))
        problem(r, 403, "admin-forbidden")

    async def test_missing_client_is_404(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        r = await client.get(f"{CLIENTS}/cl_nope", headers=bearer(tokens.platform))
        problem(r, 404, "client-not-found")


class TestClientCredentials:
    async def test_happy_path_token_verifies_for_inventory(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        created = await make_client(client, tokens.platform, scopes=[*RW, "tickets:read"])
        r = await client_token(client, created["client_id"], created["client_secret"], " ".join(RW))
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        body = r.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 600
        assert body["scope"] == "inventory:read inventory:write"
        assert "refresh_token" not in body
        principal = await verifier(client, "inventory").verify(body["access_token"])
        assert principal.roles == {"service"}
        assert principal.municipalities == {RIGA}
        assert principal.client_id == created["client_id"]
        assert principal.scopes == set(RW)
        assert principal.claims["aud"] == ["inventory"]

    async def test_form_authentication_and_default_scope(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        created = await make_client(client, tokens.platform, scopes=RW)
        r = await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": created["client_id"],
                "client_secret": created["client_secret"],
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["scope"] == "inventory:read inventory:write"

    async def test_wrong_secret_is_invalid_client(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        created = await make_client(client, tokens.platform, scopes=RW)
        r = await client_token(client, created["client_id"], "wrong")
        assert r.status_code == 401
        assert r.json()["error"] == "invalid_client"
        assert "error_description" in r.json()
        assert r.headers["www-authenticate"].startswith("Basic")
        r = await client_token(client, "cl_unknown", "wrong")
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"

    async def test_scope_not_granted_is_invalid_scope(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        created = await make_client(client, tokens.platform, scopes=["inventory:read"])
        r = await client_token(
            client, created["client_id"], created["client_secret"], "inventory:write"
        )
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_scope"

    async def test_revoked_client_is_refused(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        created = await make_client(client, tokens.riga, scopes=RW)
        r = await client.post(
            f"{CLIENTS}/{created['client_id']}/revoke", headers=bearer(tokens.riga)
        )
        assert r.status_code == 200 and r.json()["active"] is False
        r = await client_token(client, created["client_id"], created["client_secret"])
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        again = await client.post(
            f"{CLIENTS}/{created['client_id']}/revoke", headers=bearer(tokens.riga)
        )
        problem(again, 409, "already-revoked")

    async def test_rotated_secret_replaces_the_old_one(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        created = await make_client(client, tokens.platform, scopes=RW)
        r = await client.post(
            f"{CLIENTS}/{created['client_id']}/secret", headers=bearer(tokens.platform)
        )
        assert r.status_code == 200
        new_secret = r.json()["client_secret"]
        assert new_secret != created["client_secret"]
        old = await client_token(client, created["client_id"], created["client_secret"])
        assert old.status_code == 401
        assert (await client_token(client, created["client_id"], new_secret)).status_code == 200

    async def test_malformed_requests_get_oauth_errors(self, client: httpx.AsyncClient) -> None:
        r = await client.post("/oauth/token", data={})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
        r = await client.post("/oauth/token", json={"grant_type": "client_credentials"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
        r = await client.post("/oauth/token", data={"grant_type": "password"})
        assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
        r = await client.post("/oauth/token", data={"grant_type": "client_credentials"})
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        r = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic !!!"},
        )
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        r = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_secret": "x"},
            headers=basic("a", "b"),
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
