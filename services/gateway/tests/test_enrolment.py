"""`GET /people/{id}/enrolment` (a learner's school and grade from VIIS, for those who may
know it) and a school admin's `POST /people/lookup` of their own learners."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from gateway_service.models import AuditEvent
from shared_kit.testing.http import bearer, problem

from .conftest import RIGA, VALMIERA, Tokens, verifier
from .test_login_oauth import (  # noqa: F401 (fixtures)
    PEOPLE,
    SCHOOL_1,
    SCHOOL_2,
    assert_no_personal_code,
    settings,
    standins,
)
from .test_me import _token_of
from .test_staff_grants import lookup

pytestmark = pytest.mark.slow
MARTA, JANIS = PEOPLE["child_grade2"], PEOPLE["child_grade5"]


def enrolment(person_id: str) -> str:
    """The enrolment URL of a person."""
    return f"/api/v1/gateway/people/{person_id}/enrolment"


async def children(client: httpx.AsyncClient, tokens: Tokens) -> tuple[str, dict[str, str]]:
    """The demo guardian's children by first name (registered through a Rīga admin's lookup, as
    her login would) and a token of hers naming them (the test issuer's, as the services get)."""
    ids = {}
    for child in (MARTA, JANIS):
        found = (await lookup(client, tokens.riga, child.personal_code)).json()
        ids[found["given_name"]] = found["id"]
    token = tokens.mint(roles=["guardian"], learners=sorted(ids.values()))
    return token, ids


def same_404(*responses: httpx.Response) -> None:
    """Every response is the same 404 (apart from the path it names)."""
    bodies = []
    for r in responses:
        body = problem(r, 404, "person-not-found")
        body.pop("instance", None)
        bodies.append(body)
    assert all(b == bodies[0] for b in bodies), bodies


async def audited(app: FastAPI, action: str) -> list[AuditEvent]:
    """Every audit record of this action, oldest first."""
    async with app.state.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.at)
        )
        return list(rows.all())


class TestEnrolment:
    async def test_guardian_reads_their_childs_school_and_grade(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        token, ids = await children(client, tokens)
        r = await client.get(enrolment(ids["Marta"]), headers=bearer(token))
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"].startswith("no-store")
        assert r.json() == {
            "person_id": ids["Marta"],
            "given_name": "Marta",
            "family_name": "Bērziņa",
            "institution_number": SCHOOL_1,
            "municipality_code": RIGA,
            "grade": 2,
            "class_name": "2.a",
        }
        assert_no_personal_code(r.text)
        assert await audited(app, "learner.enrolment_read") == []  # a family's own read

    async def test_the_learner_themself(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        _, ids = await children(client, tokens)
        own = tokens.mint(ids["Jānis"], roles=["learner"])
        r = await client.get(enrolment(ids["Jānis"]), headers=bearer(own))
        assert (r.status_code, r.json()["institution_number"]) == (200, SCHOOL_2)

    async def test_school_and_municipality_admins_of_the_learner_only(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        _, ids = await children(client, tokens)
        school_1 = tokens.mint(roles=["institution_admin"], institutions=[SCHOOL_1])
        ok = await client.get(enrolment(ids["Marta"]), headers=bearer(school_1))
        assert (ok.status_code, ok.json()["grade"]) == (200, 2)
        riga = await client.get(enrolment(ids["Jānis"]), headers=bearer(tokens.riga))
        assert (riga.status_code, riga.json()["grade"]) == (200, 5)
        same_404(
            await client.get(enrolment(ids["Jānis"]), headers=bearer(school_1)),
            await client.get(enrolment(ids["Marta"]), headers=bearer(tokens.valmiera)),
            await client.get(enrolment(str(uuid.uuid4())), headers=bearer(tokens.riga)),
        )
        reads = await audited(app, "learner.enrolment_read")
        assert [(r.target, r.details["outcome"]) for r in reads] == [
            (ids["Marta"], "shown"),
            (ids["Jānis"], "shown"),
            (ids["Jānis"], "refused"),
            (ids["Marta"], "refused"),
            (reads[-1].target, "refused"),
        ]

    async def test_everyone_else_and_non_learners_get_the_same_404(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        token, ids = await children(client, tokens)
        guardian = (await lookup(client, tokens.riga, PEOPLE["guardian"].personal_code)).json()
        stranger = tokens.mint(roles=["guardian"], learners=[str(uuid.uuid4())])
        same_404(
            await client.get(enrolment(ids["Marta"]), headers=bearer(stranger)),
            await client.get(enrolment(ids["Marta"]), headers=bearer(tokens.technician)),
            await client.get(enrolment(ids["Marta"]), headers=bearer(tokens.contracts)),
            await client.get(enrolment(ids["Marta"]), headers=bearer(tokens.platform)),
            # the guardian herself is known to VIIS but is no learner
            await client.get(enrolment(guardian["id"]), headers=bearer(tokens.riga)),
        )
        problem(await client.get(enrolment(ids["Marta"])), 401, "unauthorized")
        problem(await client.get(enrolment("nobody"), headers=bearer(token)), 422, "validation")

    async def test_viis_down_is_503(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tokens: Tokens,
        settings: Any,  # noqa: F811
    ) -> None:
        token, ids = await children(client, tokens)
        app.state.settings = settings.model_copy(update={"viis_url": "http://127.0.0.1:9"})
        r = await client.get(enrolment(ids["Marta"]), headers=bearer(token))
        problem(r, 503, "viis-unavailable")


class TestSchoolAdminLookup:
    async def test_finds_their_learner_as_the_guardians_token_names_them(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tokens: Tokens,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        school_1 = tokens.mint(roles=["institution_admin"], institutions=[SCHOOL_1])
        r = await lookup(client, school_1, MARTA.personal_code)
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"].startswith("no-store")
        assert (r.json()["given_name"], r.json()["family_name"]) == ("Marta", "Bērziņa")
        family = await _token_of(app, client, "guardian")  # she logs in later: the same person
        claims = await verifier(client, app.state.settings.jwt_audience).verify(family)
        assert r.json()["id"] in claims.learners
        assert_no_personal_code(r.text, caplog.text)

    async def test_anyone_but_their_learners_is_the_unknowns_404_and_audited(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        school_1 = tokens.mint(roles=["institution_admin"], institutions=[SCHOOL_1])
        same_404(
            await lookup(client, school_1, JANIS.personal_code),  # another school's learner
            await lookup(client, school_1, PEOPLE["teacher"].personal_code),  # no learner
            await lookup(client, school_1, "010170-10009"),  # nobody in VIIS
        )
        rows = await audited(app, "person.looked_up")
        assert [(r.target, r.details.get("outcome")) for r in rows] == [(None, "refused")] * 3
        teacher = tokens.mint(roles=["teacher"], institutions=[SCHOOL_1])
        problem(await lookup(client, teacher, MARTA.personal_code), 403, "admin-forbidden")
        r = await lookup(client, tokens.riga, JANIS.personal_code)  # administrators as before
        assert r.status_code == 200, r.text
        assert SCHOOL_2 not in r.text and VALMIERA not in r.text
