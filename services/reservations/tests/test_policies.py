"""Municipal policies: defaults, replacement with If-Match, who may change them, their effect."""

from __future__ import annotations

import datetime as dt

import httpx

from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer, problem

from .conftest import API, RIGA, SCHOOL_A, VALMIERA, Inventory, Tokens, reserve

POLICY = f"{API}/policies/{RIGA}"


class TestPolicies:
    async def test_defaults_until_stored_then_versioned(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        r = await client.get(POLICY, headers=bearer(tokens.guardian))
        assert r.status_code == 200 and r.headers["ETag"] == '"0"'
        assert r.json() == {
            "municipality_code": RIGA,
            "auto_approve": True,
            "max_active_per_learner": 1,
            "max_period_days": 366,
            "pickup_days": 7,
            "school_year_end": "06-01",
            "version": 0,
        }
        new = {"auto_approve": False, "max_active_per_learner": 2, "pickup_days": 3}
        r = await client.put(POLICY, json=new, headers={**bearer(tokens.riga), "If-Match": '"0"'})
        assert r.status_code == 200, r.text
        assert r.headers["ETag"] == '"1"' and r.json()["max_active_per_learner"] == 2
        r = await client.put(POLICY, json=new, headers={**bearer(tokens.riga), "If-Match": '"0"'})
        problem(r, 412, "precondition-failed")
        r = await client.put(
            POLICY, json={}, headers={**bearer(tokens.platform), "If-Match": '"1"'}
        )
        assert r.status_code == 200 and r.json()["auto_approve"] is True  # PUT replaces

    async def test_only_the_municipality_and_platform_admins_change_it(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        for token in (tokens.valmiera, tokens.school_a, tokens.guardian, tokens.riga_client):
            r = await client.put(POLICY, json={}, headers=bearer(token))
            assert r.status_code == 403, r.text
        r = await client.put(f"{API}/policies/{VALMIERA}", json={}, headers=bearer(tokens.valmiera))
        assert r.status_code == 200

    async def test_bad_values_are_validation_errors(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        for body in ({"max_active_per_learner": 0}, {"school_year_end": "02-30"}, {"x": 1}):
            r = await client.put(POLICY, json=body, headers=bearer(tokens.riga))
            problem(r, 422, "validation")
        problem(
            await client.get(f"{API}/policies/abc", headers=bearer(tokens.riga)), 422, "validation"
        )

    async def test_limits_and_period_follow_the_policy(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        clock: TestClock,
    ) -> None:
        r = await client.put(
            POLICY,
            json={"max_active_per_learner": 2, "max_period_days": 30, "school_year_end": "12-20"},
            headers=bearer(tokens.riga),
        )
        assert r.status_code == 200
        first = await reserve(client, tokens.guardian)
        # the default end (20 December, local midnight) is clamped to the 30-day maximum
        end = dt.datetime.fromisoformat(first["end"])
        assert end - dt.datetime.fromisoformat(first["start"]) == dt.timedelta(days=30)
        await reserve(client, tokens.guardian)
        r = await client.post(
            API,
            json={"learner_id": "person-child-1", "institution_number": SCHOOL_A},
            headers=bearer(tokens.guardian),
        )
        assert problem(r, 409, "active-limit-reached")["limit"] == 2
        r = await client.post(
            API,
            json={
                "learner_id": "person-child-2",
                "institution_number": SCHOOL_A,
                "end": (clock.now + dt.timedelta(days=31)).isoformat(),
            },
            headers=bearer(tokens.guardian),
        )
        assert problem(r, 422, "period-too-long")["max_period_days"] == 30
