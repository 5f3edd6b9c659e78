"""A person's preferences: their language, and the kinds of their audiences on or off and by
which channels; essential kinds stay on."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications_service.kinds import KINDS, Audience
from shared_kit.testing.http import bearer, problem
from shared_kit.testing.tokens import TokenIssuer

from .conftest import API

PREFERENCES = f"{API}/me/preferences"
FAMILY_KINDS = [k.name for k in KINDS.values() if k.audience is Audience.FAMILY]


class People:
    """Tokens of the people in these tests (audience `notifications`)."""

    def __init__(self, issuer: TokenIssuer) -> None:
        def person(*roles: str, **claims: Any) -> str:
            subject = f"person-{uuid.uuid4()}"
            return issuer.mint(subject, roles=list(roles), audience="notifications", **claims)

        self.guardian = person("guardian", learners=["learner-1"])
        self.other = person("guardian")
        self.school = person("institution_admin", "teacher", institutions=["3113900001"])
        self.technician = person("technician", municipalities=["0010000"])
        self.machine = issuer.mint(
            "client-riga", roles=["service"], client_id="riga", audience="notifications"
        )


@pytest.fixture
def people(token_issuer: TokenIssuer) -> People:
    """Fresh people for this test."""
    return People(token_issuer)


async def get(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.get(PREFERENCES, headers=bearer(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def put(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    return await client.put(PREFERENCES, json=body, headers=bearer(token))


def kind(state: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [k for k in state["kinds"] if k["kind"] == name]
    return dict(found)


class TestDefaults:
    async def test_a_guardian_has_every_family_kind_on_by_its_default_channels(
        self, client: httpx.AsyncClient, people: People
    ) -> None:
        state = await get(client, people.guardian)
        assert state["language"] == "lv"
        assert [k["kind"] for k in state["kinds"]] == FAMILY_KINDS
        assert all(k["enabled"] for k in state["kinds"])
        assert kind(state, "reservation_approved")["channels"] == ["email"]
        assert kind(state, "loan_overdue") == {
            "kind": "loan_overdue",
            "audience": "family",
            "essential": True,
            "enabled": True,
            "channels": ["email", "sms"],
        }

    async def test_staff_see_their_kinds_and_a_guardian_does_not(
        self, client: httpx.AsyncClient, people: People
    ) -> None:
        def audiences(state: dict[str, Any]) -> set[str]:
            return {k["audience"] for k in state["kinds"]}

        assert audiences(await get(client, people.guardian)) == {"family"}
        school = await get(client, people.school)
        assert audiences(school) == {"family", "school"}
        assert kind(school, "approvals_waiting")["enabled"] is True
        assert audiences(await get(client, people.technician)) == {"family", "support"}
        # The platform's own notes about a contact point are nobody's to choose.
        names = {k["kind"] for k in (await get(client, people.school))["kinds"]}
        assert "contact_point_rejected" not in names


class TestChanges:
    async def test_a_kind_turned_off_stays_off(
        self, client: httpx.AsyncClient, people: People
    ) -> None:
        body = {"kinds": [{"kind": "reservation_waitlisted", "enabled": False}]}
        response = await put(client, people.guardian, body)
        assert response.status_code == 200, response.text
        assert kind(response.json(), "reservation_waitlisted")["enabled"] is False
        state = await get(client, people.guardian)
        assert kind(state, "reservation_waitlisted") == {
            "kind": "reservation_waitlisted",
            "audience": "family",
            "essential": False,
            "enabled": False,
            "channels": ["email"],
        }
        assert kind(state, "reservation_approved")["enabled"] is True
        other = await get(client, people.other)
        assert kind(other, "reservation_waitlisted")["enabled"] is True

    async def test_an_essential_kind_cannot_be_turned_off_and_nothing_changes(
        self, client: httpx.AsyncClient, people: People
    ) -> None:
        body = {
            "language": "en",
            "kinds": [
                {"kind": "ticket_resolved", "enabled": False},
                {"kind": "loan_overdue", "enabled": False},
            ],
        }
        refused = problem(await put(client, people.guardian, body), 422, "essential-kind")
        assert [e["pointer"] for e in refused["errors"]] == ["/kinds/1"]
        state = await get(client, people.guardian)
        assert state["language"] == "lv"
        assert kind(state, "ticket_resolved")["enabled"] is True

    async def test_an_essential_kind_may_change_channels(
        self, client: httpx.AsyncClient, people: People
    ) -> None:
        body = {"kinds": [{"kind": "loan_overdue", "enabled": True, "channels": ["sms"]}]}
        response = await put(client, people.guardian, body)
        assert response.status_code == 200, response.text
        assert kind(await get(client, people.guardian), "loan_overdue")["channels"] == ["sms"]

    async def test_channels_change_and_repeats_count_once(
        self, client: httpx.AsyncClient, people: People
    ) -> None:
        body = {"kinds": [{"kind": "ticket_commented", "channels": ["sms", "email", "sms"]}]}
        assert (await put(client, people.guardian, body)).status_code == 422  # at most two
        body = {"kinds": [{"kind": "ticket_commented", "channels": ["sms", "sms"]}]}
        assert (await put(client, people.guardian, body)).status_code == 200
        state = await get(client, people.guardian)
        assert kind(state, "ticket_commented") == {
            "kind": "ticket_commented",
            "audience": "family",
            "essential": False,
            "enabled": True,
            "channels": ["sms"],
        }
        body = {"kinds": [{"kind": "ticket_commented", "channels": []}]}
        assert (await put(client, people.guardian, body)).status_code == 200
        assert kind(await get(client, people.guardian), "ticket_commented")["channels"] == []

    async def test_the_language_changes_and_the_person_is_remembered(
        self, client: httpx.AsyncClient, people: People, engine: AsyncEngine
    ) -> None:
        response = await put(client, people.guardian, {"language": "en"})
        assert response.status_code == 200 and response.json()["language"] == "en"
        assert (await get(client, people.guardian))["language"] == "en"
        assert (await get(client, people.other))["language"] == "lv"
        async with engine.connect() as conn:
            languages = (await conn.execute(text("SELECT language FROM recipient"))).scalars()
            assert list(languages) == ["en"]

    async def test_staff_choose_about_their_own_kinds(
        self, client: httpx.AsyncClient, people: People
    ) -> None:
        body = {"kinds": [{"kind": "approvals_waiting", "enabled": False}]}
        assert (await put(client, people.school, body)).status_code == 200
        assert kind(await get(client, people.school), "approvals_waiting")["enabled"] is False


class TestRefusals:
    @pytest.mark.parametrize(
        "name", ["no_such_kind", "approvals_waiting", "sla_breached", "contact_point_rejected"]
    )
    async def test_a_kind_not_theirs_is_422_at_the_kind(
        self, client: httpx.AsyncClient, people: People, name: str
    ) -> None:
        body = {"kinds": [{"kind": "ticket_resolved"}, {"kind": name, "enabled": False}]}
        refused = problem(await put(client, people.guardian, body), 422, "invalid-preferences")
        [error] = refused["errors"]
        assert error["pointer"] == "/kinds/1/kind" and error["code"] == "unknown_kind"

    async def test_a_kind_listed_twice_is_422(
        self, client: httpx.AsyncClient, people: People
    ) -> None:
        body = {"kinds": [{"kind": "ticket_resolved"}, {"kind": "ticket_resolved"}]}
        refused = problem(await put(client, people.guardian, body), 422, "invalid-preferences")
        assert refused["errors"][0]["code"] == "duplicate_kind"

    @pytest.mark.parametrize(
        "body",
        [
            {"kinds": [{"kind": "ticket_resolved", "channels": ["fax"]}]},
            {"kinds": [{"kind": "ticket_resolved", "channels": "email"}]},
            {"kinds": [{"kind": "ticket_resolved", "enabled": "maybe"}]},
            {"kinds": [{"kind": "ticket_resolved", "colour": "red"}]},
            {"language": "de"},
            {"kinds": {"ticket_resolved": True}},
            {"timezone": "UTC"},
        ],
    )
    async def test_a_malformed_change_is_422(
        self, client: httpx.AsyncClient, people: People, body: dict[str, Any]
    ) -> None:
        problem(await put(client, people.guardian, body), 422, "validation")

    async def test_a_machine_client_is_forbidden_and_no_token_is_401(
        self, client: httpx.AsyncClient, people: People
    ) -> None:
        problem(await client.get(PREFERENCES, headers=bearer(people.machine)), 403, "forbidden")
        problem(await put(client, people.machine, {"language": "en"}), 403, "forbidden")
        problem(await client.get(PREFERENCES), 401, "unauthorized")
