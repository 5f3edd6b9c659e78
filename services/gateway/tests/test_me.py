"""`GET /api/v1/gateway/me`: a person's own name and, for a guardian, their children from VIIS."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from shared_kit.testing.http import bearer, problem

from .conftest import Tokens, verifier
from .test_login_oauth import (  # noqa: F401 (fixtures)
    PEOPLE,
    SCHOOL_1,
    SCHOOL_2,
    assert_no_personal_code,
    login,
    redeem,
    settings,
    standins,
)

pytestmark = pytest.mark.slow
ME = "/api/v1/gateway/me"


async def _token_of(app: FastAPI, client: httpx.AsyncClient, person: str) -> str:
    """Log the demo person in through Mykoob; their access token (the gateway verifies it)."""
    # The app's own verifier reads the test JWKS; the person's token is the gateway's own.
    app.state.verifier = verifier(client, app.state.settings.jwt_audience)
    answer = await redeem(client, await login(client, "mykoob", person))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


class TestWhoAmI:
    async def test_guardian_sees_their_children_with_school_and_grade(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        r = await client.get(ME, headers=bearer(await _token_of(app, client, "guardian")))
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"].startswith("no-store")
        me = r.json()
        assert (me["given_name"], me["family_name"], me["roles"]) == (
            "Ilze",
            "Bērziņa",
            ["guardian"],
        )
        children = [
            (c["given_name"], c["school"]["registration_number"], c["school"]["name"], c["grade"])
            for c in me["children"]
        ]
        assert children == [
            ("Jānis", SCHOOL_2, "Rīgas Demo 2. vidusskola", 5),
            ("Marta", SCHOOL_1, "Rīgas Demo 1. pamatskola", 2),
        ]
        assert me["children"][1]["class_name"] == "2.a"
        assert_no_personal_code(r.text)

    async def test_a_child_id_is_the_one_in_the_token(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        token = await _token_of(app, client, "guardian")
        principal = await verifier(client, app.state.settings.jwt_audience).verify(token)
        me = (await client.get(ME, headers=bearer(token))).json()
        assert {c["id"] for c in me["children"]} == set(principal.learners)

    async def test_school_admin_has_no_children(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        r = await client.get(ME, headers=bearer(await _token_of(app, client, "school_admin")))
        assert r.status_code == 200, r.text
        assert (r.json()["given_name"], r.json()["children"]) == ("Inese", [])
        assert r.json()["roles"] == ["institution_admin"]

    async def test_machine_client_is_refused(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        r = await client.get(ME, headers=bearer(tokens.contracts))
        problem(r, 403, "not-a-person")

    async def test_unknown_person_is_404(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        nobody = tokens.mint(str(uuid.uuid4()), roles=["guardian"])
        r = await client.get(ME, headers=bearer(nobody))
        problem(r, 404, "person-not-found")

    async def test_without_a_token_is_401(self, client: httpx.AsyncClient) -> None:
        problem(await client.get(ME), 401, "unauthorized")

    async def test_viis_down_is_503(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        settings,  # noqa: F811
    ) -> None:
        token = await _token_of(app, client, "guardian")
        app.state.settings = settings.model_copy(update={"viis_url": "http://127.0.0.1:9"})
        r = await client.get(ME, headers=bearer(token))
        problem(r, 503, "viis-unavailable")
