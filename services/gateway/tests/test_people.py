"""People and role grants: resolve_person, the bootstrap admin, the grants admin API."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from gateway_service import service
from gateway_service.exceptions import InvalidPersonalCode
from gateway_service.models import Person
from shared_kit.testing.http import bearer, problem

from .conftest import ADMIN_CODE, OTHER_CODE, PERSON_CODE, PLATFORM_ADMIN, RIGA, Tokens

GRANTS = "/api/v1/gateway/grants"


async def person_id(app: FastAPI, code: str = PERSON_CODE, **names: str) -> str:
    """Resolve a person the way a login does; returns the platform person id."""
    async with app.state.sessions() as session, session.begin():
        person = await service.resolve_person(
            session=session,
            settings=app.state.settings,
            personal_code=code,
            now=app.state.clock(),
            **names,
        )
        return str(person.id)


async def grant(
    client: httpx.AsyncClient, token: str, person: str, role: str, **target: str
) -> httpx.Response:
    """POST a role grant."""
    return await client.post(
        GRANTS, json={"person_id": person, "role": role, **target}, headers=bearer(token)
    )


class TestResolvePerson:
    async def test_same_code_same_person_names_kept_current(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        first = await person_id(app, given_name="Anna", family_name="Bērziņa")
        again = await person_id(app, "02029020002", given_name="Anna", family_name="Liepa")
        assert first == again
        async with app.state.sessions() as session:
            person = await session.get(Person, uuid.UUID(first))
        assert person is not None and person.family_name == "Liepa"
        assert PERSON_CODE.replace("-", "") not in person.personal_code_encrypted
        assert len(person.personal_code_hmac) == 64

    async def test_concurrent_first_logins_make_one_person(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        ids = await asyncio.gather(*(person_id(app, OTHER_CODE) for _ in range(4)))
        assert len(set(ids)) == 1

    async def test_malformed_code_is_refused(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        with pytest.raises(InvalidPersonalCode):
            await person_id(app, "12345")


class TestBootstrapAdmin:
    async def test_configured_person_becomes_platform_admin_on_first_sight(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        admin = await person_id(app, ADMIN_CODE)
        await person_id(app, OTHER_CODE)
        r = await client.get(GRANTS, headers=bearer(tokens.platform))
        grants = r.json()["items"]
        assert [(g["person_id"], g["role"], g["granted_by"]) for g in grants] == [
            (admin, "platform_admin", "bootstrap")
        ]

    async def test_not_granted_again_after_revocation(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await person_id(app, ADMIN_CODE)
        grant_id = (await client.get(GRANTS, headers=bearer(tokens.platform))).json()["items"][0]
        r = await client.post(f"{GRANTS}/{grant_id['id']}/revoke", headers=bearer(tokens.platform))
        assert r.status_code == 200
        await person_id(app, ADMIN_CODE)
        assert (await client.get(GRANTS, headers=bearer(tokens.platform))).json()["items"] == []


class TestGrants:
    async def test_platform_admin_grants_and_revokes(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await person_id(app)
        r = await grant(
            client, tokens.platform, person, "municipality_admin", municipality_code=RIGA
        )
        assert r.status_code == 201, r.text
        assert (r.json()["role"], r.json()["municipality_code"]) == ("municipality_admin", RIGA)
        assert r.json()["granted_by"] == f"person:{PLATFORM_ADMIN}"
        duplicate = await grant(
            client, tokens.platform, person, "municipality_admin", municipality_code=RIGA
        )
        problem(duplicate, 409, "duplicate-grant")
        revoked = await client.post(
            f"{GRANTS}/{r.json()['id']}/revoke", headers=bearer(tokens.platform)
        )
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert revoked.json()["revoked_by"] == f"person:{PLATFORM_ADMIN}"
        again = await client.post(
            f"{GRANTS}/{r.json()['id']}/revoke", headers=bearer(tokens.platform)
        )
        problem(again, 409, "already-revoked")
        listed = await client.get(
            GRANTS, params={"include_revoked": "true"}, headers=bearer(tokens.platform)
        )
        assert len(listed.json()["items"]) == 1

    async def test_role_targets_are_checked(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await person_id(app)
        r = await grant(client, tokens.platform, person, "technician")
        assert "municipality_code" in problem(r, 422, "invalid-grant-target")["detail"]
        r = await grant(client, tokens.platform, person, "ministry_analyst", municipality_code=RIGA)
        problem(r, 422, "invalid-grant-target")
        r = await grant(client, tokens.platform, person, "institution_admin")
        assert "institution_number" in problem(r, 422, "invalid-grant-target")["detail"]
        r = await grant(
            client, tokens.platform, person, "institution_admin", institution_number="3113900001"
        )
        assert r.status_code == 201
        r = await grant(client, tokens.platform, str(uuid.uuid4()), "ministry_analyst")
        problem(r, 404, "person-not-found")

    async def test_unknown_grant_is_404(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        r = await client.post(f"{GRANTS}/{uuid.uuid4()}/revoke", headers=bearer(tokens.platform))
        problem(r, 404, "grant-not-found")

    async def test_idempotent_retry_replays(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await person_id(app)
        headers = {**bearer(tokens.platform), "Idempotency-Key": "grant-1"}
        body = {"person_id": person, "role": "ministry_analyst"}
        first = await client.post(GRANTS, json=body, headers=headers)
        second = await client.post(GRANTS, json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json()["id"] == second.json()["id"]
        async with app.state.sessions() as session:
            assert len(list(await session.scalars(select(Person)))) == 1
