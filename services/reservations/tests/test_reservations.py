"""The reservations API: requests by each kind of caller, bad input, tenancy, the state machine."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer, problem

from .conftest import (
    API,
    CHILD,
    OTHER_CHILD,
    RIGA,
    SCHOOL_A,
    SCHOOL_B,
    SIBLING,
    VALMIERA_SCHOOL,
    Inventory,
    Tokens,
    reserve,
    sql,
)


@pytest.fixture
async def laptop(inventory: Inventory, schools: dict[str, str]) -> str:
    """One available laptop at school A."""
    return await inventory.add()


class TestCreate:
    async def test_guardian_reserves_for_own_child_and_gets_a_device(
        self, client: httpx.AsyncClient, tokens: Tokens, laptop: str, clock: TestClock
    ) -> None:
        r = await client.post(
            API,
            json={
                "learner_id": CHILD,
                "institution_number": SCHOOL_A,
                "criteria": {"os": "windows"},
            },
            headers=bearer(tokens.guardian),
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["state"] == "approved"
        assert body["device_id"] == laptop
        assert body["municipality_code"] == RIGA
        assert r.headers["ETag"] == f'"{body["version"]}"'
        assert r.headers["Location"] == f"{API}/{body['id']}"
        # default period: now until the school year's end (1 June, Riga midnight = 21:00 UTC)
        assert body["end"] == "2027-05-31T21:00:00Z"
        deadline = dt.datetime.fromisoformat(body["pickup_deadline"])
        assert deadline - dt.datetime.fromisoformat(body["start"]) == dt.timedelta(days=7)

    async def test_staff_reserve_for_a_class_and_admins_for_any_learner(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
    ) -> None:
        await inventory.add()
        await inventory.add(institution=SCHOOL_B)
        teacher = await reserve(client, tokens.teacher_a, learner="class-5b", beneficiary="class")
        assert teacher["state"] == "approved" and teacher["beneficiary"] == "class"
        admin = await reserve(client, tokens.riga, learner="learner-x", institution=SCHOOL_B)
        assert admin["state"] == "approved"
        platform = await reserve(client, tokens.platform, learner="learner-y")
        assert platform["state"] == "waitlisted"  # both laptops of the schools are taken
        machine = await reserve(
            client, tokens.riga_client, learner="learner-z", institution=SCHOOL_B
        )
        assert machine["state"] == "waitlisted" and machine["requested_by"] == "riga-platform"

    async def test_social_criteria_give_the_documented_score(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        criteria = [
            {"criterion": "low_income", "source": "welfare_data"},
            {"criterion": "single_parent", "source": "declared"},
            {"criterion": "disabled_child", "source": "verified_by_school"},
        ]
        body = await reserve(client, tokens.riga, social_criteria=criteria)
        assert body["priority_score"] == 40 + 15 + 20
        assert body["state"] == "waitlisted"

    async def test_specific_device_request(
        self, client: httpx.AsyncClient, tokens: Tokens, inventory: Inventory, laptop: str
    ) -> None:
        other = await inventory.add(category="tablet", os="android")
        body = await reserve(client, tokens.guardian, device_id=other)
        assert body["device_id"] == other and body["requested_device_id"] == other
        assert body["criteria"] is None

    async def test_idempotency_key_replays_the_first_answer(
        self, client: httpx.AsyncClient, tokens: Tokens, laptop: str, engine: AsyncEngine
    ) -> None:
        headers = {**bearer(tokens.guardian), "Idempotency-Key": "k-1"}
        body = {"learner_id": CHILD, "institution_number": SCHOOL_A}
        first = await client.post(API, json=body, headers=headers)
        again = await client.post(API, json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        assert len(await sql(engine, "SELECT id FROM reservation")) == 1

    async def test_a_retry_sent_while_the_first_is_running_replays_it(
        self, client: httpx.AsyncClient, tokens: Tokens, laptop: str, engine: AsyncEngine
    ) -> None:
        # The client gave up waiting and resent at once: the second must wait for the first and
        # replay its answer, not run again (it would meet the learner's active-reservation limit).
        headers = {**bearer(tokens.guardian), "Idempotency-Key": "k-2"}
        body = {"learner_id": CHILD, "institution_number": SCHOOL_A}
        answers = await asyncio.gather(
            *(client.post(API, json=body, headers=headers) for _ in range(3))
        )
        assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
        assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 2
        assert len(await sql(engine, "SELECT id FROM reservation")) == 1


class TestBadInput:
    async def test_period_that_ends_before_it_starts(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        schools: dict[str, str],
        clock: TestClock,
    ) -> None:
        start = clock.now + dt.timedelta(days=2)
        r = await client.post(
            API,
            json={
                "learner_id": CHILD,
                "institution_number": SCHOOL_A,
                "start": start.isoformat(),
                "end": (start - dt.timedelta(days=1)).isoformat(),
            },
            headers=bearer(tokens.guardian),
        )
        problem(r, 422, "invalid-period")

    async def test_period_in_the_past(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        schools: dict[str, str],
        clock: TestClock,
    ) -> None:
        r = await client.post(
            API,
            json={
                "learner_id": CHILD,
                "institution_number": SCHOOL_A,
                "start": (clock.now - dt.timedelta(days=3)).isoformat(),
            },
            headers=bearer(tokens.guardian),
        )
        problem(r, 422, "period-in-past")

    async def test_period_longer_than_policy(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        schools: dict[str, str],
        clock: TestClock,
    ) -> None:
        r = await client.post(
            API,
            json={
                "learner_id": CHILD,
                "institution_number": SCHOOL_A,
                "end": (clock.now + dt.timedelta(days=400)).isoformat(),
            },
            headers=bearer(tokens.guardian),
        )
        assert problem(r, 422, "period-too-long")["max_period_days"] == 366

    async def test_naive_datetimes_and_unknown_fields_are_validation_errors(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        r = await client.post(
            API,
            json={
                "learner_id": CHILD,
                "institution_number": SCHOOL_A,
                "start": "2026-10-01T00:00:00",
            },
            headers=bearer(tokens.guardian),
        )
        assert problem(r, 422, "validation")["errors"][0]["field"] == "start"
        r = await client.post(
            API,
            json={"learner_id": CHILD, "institution_number": SCHOOL_A, "colour": "red"},
            headers=bearer(tokens.guardian),
        )
        problem(r, 422, "validation")

    async def test_absurd_years_are_validation_errors_not_crashes(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        for start in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"):
            r = await client.post(
                API,
                json={"learner_id": CHILD, "institution_number": SCHOOL_A, "start": start},
                headers=bearer(tokens.guardian),
            )
            problem(r, 422, "validation")

    async def test_device_and_criteria_together_or_duplicate_criteria(
        self, client: httpx.AsyncClient, tokens: Tokens, laptop: str
    ) -> None:
        r = await client.post(
            API,
            json={
                "learner_id": CHILD,
                "institution_number": SCHOOL_A,
                "device_id": laptop,
                "criteria": {"os": "windows"},
            },
            headers=bearer(tokens.guardian),
        )
        problem(r, 422, "validation")
        twice = [{"criterion": "low_income", "source": "declared"}] * 2
        r = await client.post(
            API,
            json={"learner_id": CHILD, "institution_number": SCHOOL_A, "social_criteria": twice},
            headers=bearer(tokens.guardian),
        )
        problem(r, 422, "validation")

    async def test_unknown_institution_and_device(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        r = await client.post(
            API,
            json={"learner_id": CHILD, "institution_number": "9999999999"},
            headers=bearer(tokens.guardian),
        )
        problem(r, 404, "institution-not-found")
        r = await client.post(
            API,
            json={
                "learner_id": CHILD,
                "institution_number": SCHOOL_A,
                "device_id": str(uuid.uuid4()),
            },
            headers=bearer(tokens.guardian),
        )
        problem(r, 404, "device-not-found")

    async def test_device_of_another_institution(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        r = await client.post(
            API,
            json={
                "learner_id": CHILD,
                "institution_number": SCHOOL_A,
                "device_id": schools[SCHOOL_B],
            },
            headers=bearer(tokens.guardian),
        )
        problem(r, 422, "device-not-at-institution")

    async def test_foreign_institution(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        r = await client.post(
            API,
            json={"learner_id": "l-1", "institution_number": SCHOOL_B},
            headers=bearer(tokens.school_a),
        )
        problem(r, 403, "tenant-forbidden")
        r = await client.post(
            API,
            json={"learner_id": "l-1", "institution_number": VALMIERA_SCHOOL},
            headers=bearer(tokens.riga),
        )
        problem(r, 403, "tenant-forbidden")
        r = await client.post(
            API,
            json={"learner_id": "l-1", "institution_number": SCHOOL_A},
            headers=bearer(tokens.riga_reader),
        )
        problem(r, 403, "forbidden")  # a read-only client lacks reservations:write

    async def test_guardian_for_a_child_not_theirs(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        r = await client.post(
            API,
            json={"learner_id": OTHER_CHILD, "institution_number": SCHOOL_A},
            headers=bearer(tokens.guardian),
        )
        problem(r, 403, "not-your-learner")
        r = await client.post(
            API,
            json={"learner_id": CHILD, "institution_number": SCHOOL_A, "beneficiary": "class"},
            headers=bearer(tokens.guardian),
        )
        problem(r, 403, "beneficiary-forbidden")

    async def test_guardians_may_only_declare(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        for source in ("welfare_data", "verified_by_school"):
            r = await client.post(
                API,
                json={
                    "learner_id": CHILD,
                    "institution_number": SCHOOL_A,
                    "social_criteria": [{"criterion": "low_income", "source": source}],
                },
                headers=bearer(tokens.guardian),
            )
            problem(r, 403, "criterion-source-forbidden")
        r = await client.post(
            API,
            json={
                "learner_id": "l-2",
                "institution_number": SCHOOL_A,
                "social_criteria": [{"criterion": "low_income", "source": "welfare_data"}],
            },
            headers=bearer(tokens.school_a),
        )
        problem(r, 403, "criterion-source-forbidden")

    async def test_second_active_reservation_over_the_limit(
        self, client: httpx.AsyncClient, tokens: Tokens, laptop: str, engine: AsyncEngine
    ) -> None:
        await reserve(client, tokens.guardian)
        r = await client.post(
            API,
            json={"learner_id": CHILD, "institution_number": SCHOOL_A},
            headers=bearer(tokens.guardian),
        )
        assert problem(r, 409, "active-limit-reached")["limit"] == 1
        await reserve(client, tokens.guardian, learner=SIBLING)  # the limit is per learner
        # nothing half-written: one reservation each, and their events only
        rows = await sql(engine, "SELECT learner_id FROM reservation ORDER BY learner_id")
        assert [r.learner_id for r in rows] == [CHILD, SIBLING]
        types = await sql(engine, "SELECT event_type FROM outbox_message")
        assert len(types) == 4  # requested + approved, requested + waitlisted

    async def test_no_token_and_wrong_audience(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        problem(await client.get(API), 401, "unauthorized")
        wrong = tokens.issuer.mint(roles=["platform_admin"])  # audience "datori"
        problem(await client.get(API, headers=bearer(wrong)), 401, "unauthorized")


class TestReading:
    async def test_each_caller_sees_their_own(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        mine = await reserve(client, tokens.guardian)
        at_b = await reserve(client, tokens.school_b, learner="l-b", institution=SCHOOL_B)
        valmiera = await reserve(
            client, tokens.valmiera, learner="l-v", institution=VALMIERA_SCHOOL
        )

        async def ids(token: str, **params: Any) -> set[str]:
            r = await client.get(API, params=params, headers=bearer(token))
            assert r.status_code == 200, r.text
            return {item["id"] for item in r.json()["items"]}

        assert await ids(tokens.guardian) == {mine["id"]}
        assert await ids(tokens.other_guardian) == set()
        assert await ids(tokens.school_a) == {mine["id"]}
        assert await ids(tokens.school_b) == {at_b["id"]}
        assert await ids(tokens.riga) == {mine["id"], at_b["id"]}
        assert await ids(tokens.riga_reader) == {mine["id"], at_b["id"]}
        assert await ids(tokens.platform) == {mine["id"], at_b["id"], valmiera["id"]}
        assert await ids(tokens.platform, municipality_code=RIGA, institution_number=SCHOOL_B) == {
            at_b["id"]
        }
        assert await ids(tokens.platform, learner_id=CHILD, state="waitlisted") == {mine["id"]}
        r = await client.get(API, headers=bearer(tokens.analyst))
        problem(r, 403, "forbidden")
        problem(await client.get(API, headers=bearer(tokens.programme)), 403, "forbidden")
        aggregate = await client.get(
            f"{API}/availability",
            params={"institution_number": SCHOOL_A},
            headers=bearer(tokens.programme),
        )
        assert aggregate.status_code == 200, aggregate.text  # aggregates, as for analysts

    async def test_get_is_tenant_checked_and_tagged(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        mine = await reserve(client, tokens.guardian)
        r = await client.get(f"{API}/{mine['id']}", headers=bearer(tokens.guardian))
        assert r.status_code == 200 and r.headers["ETag"] == '"2"'
        assert r.json()["waitlist_position"] == 1
        problem(
            await client.get(f"{API}/{mine['id']}", headers=bearer(tokens.other_guardian)),
            403,
            "tenant-forbidden",
        )
        problem(
            await client.get(f"{API}/{mine['id']}", headers=bearer(tokens.valmiera)),
            403,
            "tenant-forbidden",
        )
        problem(
            await client.get(f"{API}/{uuid.uuid4()}", headers=bearer(tokens.platform)),
            404,
            "reservation-not-found",
        )
        problem(
            await client.get(f"{API}/not-a-uuid", headers=bearer(tokens.platform)),
            422,
            "validation",
        )

    async def test_pages_follow_the_cursor(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        made = [(await reserve(client, tokens.school_a, learner=f"l-{i}"))["id"] for i in range(5)]
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(API, params=params, headers=bearer(tokens.school_a))).json()
            seen += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == made
        problem(
            await client.get(API, params={"cursor": "garbage"}, headers=bearer(tokens.school_a)),
            422,
            "invalid-cursor",
        )


class TestStateMachine:
    async def test_illegal_transitions_are_conflicts(
        self, client: httpx.AsyncClient, tokens: Tokens, laptop: str
    ) -> None:
        approved = await reserve(client, tokens.guardian)
        url = f"{API}/{approved['id']}"
        r = await client.post(f"{url}/approve", headers=bearer(tokens.school_a))
        assert problem(r, 409, "illegal-transition")["current_state"] == "approved"
        r = await client.post(
            f"{url}/reject", json={"reason": "no"}, headers=bearer(tokens.school_a)
        )
        problem(r, 409, "illegal-transition")
        r = await client.post(f"{url}/cancel", headers=bearer(tokens.guardian))
        assert r.status_code == 200 and r.json()["state"] == "cancelled"
        for action, body in (("cancel", None), ("approve", None), ("reject", {"reason": "x"})):
            r = await client.post(f"{url}/{action}", json=body, headers=bearer(tokens.school_a))
            problem(r, 409, "illegal-transition")

    async def test_reject_needs_a_reason_and_a_decider(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        waiting = await reserve(client, tokens.guardian)
        url = f"{API}/{waiting['id']}"
        problem(
            await client.post(f"{url}/reject", json={}, headers=bearer(tokens.school_a)),
            422,
            "validation",
        )
        r = await client.post(
            f"{url}/reject", json={"reason": "no"}, headers=bearer(tokens.teacher_a)
        )
        problem(r, 403, "tenant-forbidden")  # teachers request, administrators decide
        r = await client.post(
            f"{url}/reject", json={"reason": "no"}, headers=bearer(tokens.guardian)
        )
        problem(r, 403, "tenant-forbidden")
        r = await client.post(
            f"{url}/reject",
            json={"reason": "Not a learner of this school"},
            headers=bearer(tokens.school_a),
        )
        assert r.status_code == 200, r.text
        assert (
            r.json()["state"] == "rejected" and r.json()["reason"] == "Not a learner of this school"
        )

    async def test_stale_if_match_is_412(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        waiting = await reserve(client, tokens.guardian)
        url = f"{API}/{waiting['id']}"
        r = await client.post(
            f"{url}/cancel", headers={**bearer(tokens.guardian), "If-Match": '"1"'}
        )
        problem(r, 412, "precondition-failed")
        r = await client.post(
            f"{url}/cancel", headers={**bearer(tokens.guardian), "If-Match": '"2"'}
        )
        assert r.status_code == 200 and r.headers["ETag"] == '"3"'

    async def test_guardian_cannot_cancel_another_family(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        waiting = await reserve(client, tokens.guardian)
        r = await client.post(
            f"{API}/{waiting['id']}/cancel", headers=bearer(tokens.other_guardian)
        )
        problem(r, 403, "tenant-forbidden")

    async def test_fulfilled_cannot_be_cancelled(
        self, client: httpx.AsyncClient, tokens: Tokens, laptop: str, engine: AsyncEngine
    ) -> None:
        approved = await reserve(client, tokens.guardian)
        async with engine.begin() as conn:
            from sqlalchemy import text

            await conn.execute(text("UPDATE reservation SET state = 'fulfilled'"))
        r = await client.post(f"{API}/{approved['id']}/cancel", headers=bearer(tokens.guardian))
        problem(r, 409, "illegal-transition")
