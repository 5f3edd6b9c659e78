"""A municipality administrator's staff: technicians of their municipality and admins of its
schools (as VIIS lists them), a person found by personal code, grants with names."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from gateway_service.models import AuditEvent
from shared_kit.testing.http import bearer, problem

from .conftest import PLATFORM_ADMIN, RIGA, VALMIERA, Tokens
from .test_login_oauth import (  # noqa: F401 (fixtures)
    PEOPLE,
    SCHOOL_1,
    SCHOOL_2,
    assert_no_personal_code,
    settings,
    standins,
)
from .test_people import grant, person_id

pytestmark = pytest.mark.slow
GRANTS = "/api/v1/gateway/grants"
LOOKUP = "/api/v1/gateway/people/lookup"
TEACHER = PEOPLE["teacher"]
UNKNOWN_CODE = "010170-10009"  # valid format, nobody in VIIS


async def lookup(client: httpx.AsyncClient, token: str, code: str) -> httpx.Response:
    """POST a personal code to the lookup."""
    return await client.post(LOOKUP, json={"personal_code": code}, headers=bearer(token))


class TestLookup:
    async def test_finds_the_viis_person_by_code_and_never_says_the_code(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        r = await lookup(client, tokens.riga, TEACHER.personal_code.replace("-", ""))
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"].startswith("no-store")
        found = r.json()
        assert (found["given_name"], found["family_name"]) == ("Andris", "Liepiņš")
        again = await lookup(client, tokens.platform, TEACHER.personal_code)
        assert again.json()["id"] == found["id"]  # registered once, found again
        assert_no_personal_code(r.text, again.text)
        async with app.state.sessions() as session:
            audited = (
                await session.scalars(
                    select(AuditEvent).where(AuditEvent.action == "person.looked_up")
                )
            ).all()
        assert [a.target for a in audited] == [found["id"], found["id"]]
        assert_no_personal_code(*(str(a.details) for a in audited))

    async def test_unknown_malformed_and_forbidden(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        problem(await lookup(client, tokens.riga, UNKNOWN_CODE), 404, "person-not-found")
        bad = await lookup(client, tokens.riga, "12345")
        problem(bad, 422, "invalid-personal-code")
        assert "12345" not in bad.text
        problem(
            await lookup(client, tokens.technician, TEACHER.personal_code), 403, "admin-forbidden"
        )
        long = await lookup(client, tokens.riga, "9" * 40)
        problem(long, 422, "validation")
        assert "9" * 40 not in long.text


class TestMunicipalityAdminGrants:
    async def test_technicians_of_their_own_municipality_only(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await person_id(app)
        r = await grant(client, tokens.riga, person, "technician", municipality_code=RIGA)
        assert r.status_code == 201
        r = await grant(client, tokens.riga, person, "technician", municipality_code=VALMIERA)
        problem(r, 403, "admin-forbidden")
        r = await grant(client, tokens.riga, person, "platform_admin")
        problem(r, 403, "admin-forbidden")
        r = await grant(client, tokens.riga, person, "municipality_admin", municipality_code=RIGA)
        problem(r, 403, "admin-forbidden")
        mine = await client.get(GRANTS, headers=bearer(tokens.riga))
        assert len(mine.json()["items"]) == 1
        theirs = await client.get(GRANTS, headers=bearer(tokens.valmiera))
        assert theirs.json()["items"] == []
        problem(await client.get(GRANTS, headers=bearer(tokens.technician)), 403, "admin-forbidden")

    async def test_school_admins_of_their_schools_listed_named_and_revoked(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        teacher = (await lookup(client, tokens.riga, TEACHER.personal_code)).json()["id"]
        r = await grant(
            client, tokens.riga, teacher, "institution_admin", institution_number=SCHOOL_2
        )
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["person_name"] == "Andris Liepiņš"
        assert created["granted_by"].startswith("person:")
        listed = await client.get(
            GRANTS, params={"municipality_code": RIGA}, headers=bearer(tokens.riga)
        )
        assert [(g["id"], g["person_name"]) for g in listed.json()["items"]] == [
            (created["id"], "Andris Liepiņš")
        ]
        elsewhere = await client.get(
            GRANTS, params={"municipality_code": VALMIERA}, headers=bearer(tokens.platform)
        )
        assert elsewhere.json()["items"] == []
        one = await client.get(f"{GRANTS}/{created['id']}", headers=bearer(tokens.riga))
        assert one.json()["person_name"] == "Andris Liepiņš"
        problem(
            await client.get(f"{GRANTS}/{created['id']}", headers=bearer(tokens.valmiera)),
            403,
            "admin-forbidden",
        )
        problem(
            await client.get(f"{GRANTS}/{uuid.uuid4()}", headers=bearer(tokens.riga)),
            404,
            "grant-not-found",
        )
        problem(
            await client.post(f"{GRANTS}/{created['id']}/revoke", headers=bearer(tokens.valmiera)),
            403,
            "admin-forbidden",
        )
        revoked = await client.post(f"{GRANTS}/{created['id']}/revoke", headers=bearer(tokens.riga))
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["revoked_at"] and revoked.json()["person_name"] == "Andris Liepiņš"
        assert_no_personal_code(r.text, listed.text, revoked.text)

    async def test_not_a_school_of_their_municipality(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        teacher = (await lookup(client, tokens.platform, TEACHER.personal_code)).json()["id"]
        for token, school in ((tokens.valmiera, SCHOOL_2), (tokens.riga, "9999999999")):
            r = await grant(client, token, teacher, "institution_admin", institution_number=school)
            problem(r, 403, "admin-forbidden")

    async def test_granter_names_are_the_granting_person(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        admin = await person_id(
            app,
            PEOPLE["municipality_admin"].personal_code,
            given_name="Dace",
            family_name="Krūmiņa",
        )
        token = tokens.mint(admin, roles=["municipality_admin"], municipalities=[RIGA])
        person = await person_id(app)
        r = await grant(client, token, person, "technician", municipality_code=RIGA)
        body: dict[str, Any] = r.json()
        assert (body["granted_by"], body["granted_by_name"]) == (f"person:{admin}", "Dace Krūmiņa")
        by_platform = await grant(client, tokens.platform, person, "ministry_analyst")
        assert by_platform.json()["granted_by"] == f"person:{PLATFORM_ADMIN}"
        assert by_platform.json()["granted_by_name"] is None  # not a person known here
        assert uuid.UUID(body["person_id"])


class TestClientScopes:
    async def test_what_each_may_give(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        riga = await client.get("/api/v1/gateway/client-scopes", headers=bearer(tokens.riga))
        platform = await client.get(
            "/api/v1/gateway/client-scopes", headers=bearer(tokens.platform)
        )
        mine = {s["scope"] for s in riga.json()}
        assert "inventory:read" in mine and "people:personal-code" not in mine
        assert {s["scope"] for s in platform.json()} == mine | {"people:personal-code"}
        problem(
            await client.get("/api/v1/gateway/client-scopes", headers=bearer(tokens.technician)),
            403,
            "admin-forbidden",
        )
