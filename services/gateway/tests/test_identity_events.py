"""`person.roles_changed` on `identity.events`: a person's whole set of staff roles, published
once per change, at a login (VIIS's roles), a grant and a revocation; no personal code or name.

Logins run end to end against the VIIS and Mykoob stand-ins (see `test_login_oauth`)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from jsonschema import Draft202012Validator
from sqlalchemy import select

from gateway_service.events import ROLES_CHANGED
from shared_kit.events.outbox import OutboxMessage
from shared_kit.testing.http import bearer, problem

from .conftest import ADMIN_CODE, OTHER_CODE, PERSON_CODE, RIGA, VALMIERA, Tokens
from .test_login_oauth import (  # noqa: F401 (fixtures)
    PEOPLE,
    SCHOOL_1,
    SCHOOL_2,
    claims_of,
    login,
    settings,
    standins,
)
from .test_people import GRANTS, grant, person_id

CONTRACT = Path(__file__).parents[3] / "contracts" / "events" / f"{ROLES_CHANGED}.json"
NAMES = ("Anna", "Bērziņa")


async def announced(app: FastAPI) -> list[OutboxMessage]:
    """Every `person.roles_changed` the gateway wrote, in order, checked against the contract."""
    validator = Draft202012Validator(json.loads(CONTRACT.read_text()))
    async with app.state.sessions() as session:
        rows = list(
            (
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.event_type == ROLES_CHANGED)
                    .order_by(OutboxMessage.seq)
                )
            ).all()
        )
    for row in rows:
        validator.validate(json.loads(row.payload))
        assert row.topic == app.state.settings.events_topic  # identity.events (per test)
        assert dict(row.headers)["ce_source"] == "/datori/gateway"
        assert row.key == json.loads(row.payload)["person_id"]
    return rows


def roles_of(row: OutboxMessage) -> list[tuple[str, str | None, str | None]]:
    """The (role, municipality, institution) of an event, in its order."""
    return [
        (r["role"], r["municipality_code"], r["institution_number"])
        for r in json.loads(row.payload)["roles"]
    ]


def assert_nothing_personal(rows: list[OutboxMessage], *secrets: str) -> None:
    """No personal code (with or without its hyphen) and no name in any event."""
    for row in rows:
        text = row.payload.decode() + json.dumps(row.headers)
        blob = json.loads(row.payload)
        assert set(blob) == {"person_id", "roles", "changed_at"}
        for secret in secrets:
            assert secret not in text and secret.replace("-", "") not in text
            assert json.dumps(secret)[1:-1] not in text  # nor \\u-escaped


class TestGrants:
    async def test_a_grant_and_a_revocation_each_publish_the_new_set(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await person_id(app, given_name=NAMES[0], family_name=NAMES[1])
        assert await announced(app) == []  # a person without staff roles has nothing to tell
        tech = await grant(client, tokens.platform, person, "technician", municipality_code=RIGA)
        assert tech.status_code == 201, tech.text
        admin = await grant(
            client, tokens.platform, person, "municipality_admin", municipality_code=VALMIERA
        )
        assert admin.status_code == 201, admin.text
        r = await client.post(
            f"{GRANTS}/{tech.json()['id']}/revoke", headers=bearer(tokens.platform)
        )
        assert r.status_code == 200, r.text
        r = await client.post(
            f"{GRANTS}/{admin.json()['id']}/revoke", headers=bearer(tokens.platform)
        )
        assert r.status_code == 200, r.text
        rows = await announced(app)
        assert [roles_of(row) for row in rows] == [
            [("technician", RIGA, None)],
            [("municipality_admin", VALMIERA, None), ("technician", RIGA, None)],
            [("municipality_admin", VALMIERA, None)],
            [],
        ]
        assert {json.loads(row.payload)["person_id"] for row in rows} == {person}
        assert_nothing_personal(rows, PERSON_CODE, *NAMES)

    async def test_a_refused_grant_publishes_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        person = await person_id(app, OTHER_CODE)
        r = await grant(client, tokens.platform, person, "ministry_analyst")
        assert r.status_code == 201, r.text
        again = await grant(client, tokens.platform, person, "ministry_analyst")
        problem(again, 409, "duplicate-grant")
        foreign = await grant(client, tokens.riga, person, "technician", municipality_code=VALMIERA)
        assert foreign.status_code == 403
        assert [roles_of(row) for row in await announced(app)] == [
            [("ministry_analyst", None, None)]
        ]

    async def test_the_bootstrap_admin_is_announced_once(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        admin = await person_id(app, ADMIN_CODE)
        await person_id(app, ADMIN_CODE)  # seen again: nothing changed
        [row] = await announced(app)
        assert json.loads(row.payload)["person_id"] == admin
        assert roles_of(row) == [("platform_admin", None, None)]
        assert_nothing_personal([row], ADMIN_CODE)


@pytest.mark.slow
class TestLogins:
    async def test_a_school_admins_login_publishes_once(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        first = await claims_of(client, await login(client, "mykoob", "school_admin"))
        [row] = await announced(app)
        assert json.loads(row.payload)["person_id"] == first["sub"]
        assert roles_of(row) == [("institution_admin", None, SCHOOL_1)]
        again = await claims_of(client, await login(client, "mykoob", "school_admin"))
        assert again["sub"] == first["sub"] and len(await announced(app)) == 1
        r = await grant(client, tokens.platform, first["sub"], "technician", municipality_code=RIGA)
        assert r.status_code == 201, r.text
        rows = await announced(app)
        assert roles_of(rows[-1]) == [
            ("institution_admin", None, SCHOOL_1),
            ("technician", RIGA, None),
        ]
        demo = PEOPLE["school_admin"]
        assert_nothing_personal(rows, demo.personal_code, demo.given_name, demo.family_name)

    async def test_families_and_learners_have_no_staff_roles_to_tell(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        await claims_of(client, await login(client, "mykoob", "guardian"))
        await claims_of(client, await login(client, "eklase", "learner"))
        assert await announced(app) == []

    async def test_a_teachers_login_and_a_grant_make_one_set(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        teacher = await claims_of(client, await login(client, "eklase", "teacher"))
        r = await grant(client, tokens.platform, teacher["sub"], "ministry_analyst")
        assert r.status_code == 201, r.text
        await claims_of(client, await login(client, "mykoob", "teacher"))  # nothing new
        rows = await announced(app)
        assert [roles_of(row) for row in rows] == [
            [("teacher", None, SCHOOL_2)],
            [("ministry_analyst", None, None), ("teacher", None, SCHOOL_2)],
        ]
