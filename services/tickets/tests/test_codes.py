"""ATVK codes, registration numbers and amounts take the ASCII digits 0-9 only."""

from __future__ import annotations

import httpx

from shared_kit.testing.digits import foreign_digits
from shared_kit.testing.http import bearer

from .conftest import API, RIGA, SCHOOL_A, World


def assert_refused(r: httpx.Response, pointer: str, case: str) -> None:
    assert r.status_code == 422, (case, r.text)
    assert pointer in [e["pointer"] for e in r.json()["errors"]], (case, r.text)


class TestOtherScriptsDigits:
    async def test_paths_and_filters(self, world: World) -> None:
        tech, admin = bearer(world.tokens.technician), bearer(world.tokens.platform)
        for case, code in foreign_digits(RIGA).items():
            r = await world.client.get(f"{API}/queues/{code}/summary", headers=tech)
            assert_refused(r, "/path/municipality_code", case)
            r = await world.client.put(
                f"{API}/sla-policies/{code}/high",
                json={"response_minutes": 60, "resolution_minutes": 600},
                headers=admin,
            )
            assert_refused(r, "/path/municipality_code", case)
            r = await world.client.get(API, params={"municipality_code": code}, headers=tech)
            assert_refused(r, "/query/municipality_code", case)
        for case, number in foreign_digits(SCHOOL_A).items():
            r = await world.client.get(API, params={"institution_number": number}, headers=tech)
            assert_refused(r, "/query/institution_number", case)

    async def test_claim_payout(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device, category="damage")
        url = f"{API}/{ticket['id']}/insurance-claims"
        staff = bearer(world.tokens.school_a)
        body = {"insurer": "BTA", "claim_number": "BTA-2026-1"}
        claim = (await world.client.post(url, json=body, headers=staff)).json()
        for case, amount in foreign_digits("180.50").items():
            r = await world.client.patch(
                f"{url}/{claim['id']}",
                json={"status": "approved", "outcome": "Covered", "payout_amount": amount},
                headers={**staff, "If-Match": '"1"'},
            )
            assert_refused(r, "/payout_amount", case)
