"""ATVK codes, registration numbers, sizes and dates take the ASCII digits 0-9 only."""

from __future__ import annotations

import httpx

from shared_kit.testing.digits import foreign_digits
from shared_kit.testing.http import bearer

from .conftest import API, RIGA, SCHOOL_A, Tokens, reservation_body


def assert_refused(r: httpx.Response, pointer: str, case: str) -> None:
    assert r.status_code == 422, (case, r.text)
    assert pointer in [e["pointer"] for e in r.json()["errors"]], (case, r.text)


class TestOtherScriptsDigits:
    async def test_paths_and_filters(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        admin = bearer(tokens.platform)
        for case, code in foreign_digits(RIGA).items():
            r = await client.put(f"{API}/policies/{code}", json={}, headers=admin)
            assert_refused(r, "/path/municipality_code", case)
            r = await client.get(API, params={"municipality_code": code}, headers=admin)
            assert_refused(r, "/query/municipality_code", case)
        for case, number in foreign_digits(SCHOOL_A).items():
            r = await client.get(f"{API}/institutions/{number}/waitlist", headers=admin)
            assert_refused(r, "/path/number", case)
            r = await client.get(API, params={"institution_number": number}, headers=admin)
            assert_refused(r, "/query/institution_number", case)
        for case, inches in foreign_digits("15.6").items():
            params = {"institution_number": SCHOOL_A, "screen_inches": inches}
            r = await client.get(f"{API}/availability", params=params, headers=admin)
            assert_refused(r, "/query/screen_inches", case)

    async def test_request_bodies(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        guardian = bearer(tokens.guardian)
        for case, number in foreign_digits(SCHOOL_A).items():
            body = reservation_body(institution=number)
            assert_refused(
                await client.post(API, json=body, headers=guardian), "/institution_number", case
            )
        for case, inches in foreign_digits("15.6").items():
            body = reservation_body(criteria={"min_screen_inches": inches})
            r = await client.post(API, json=body, headers=guardian)
            assert_refused(r, "/criteria/min_screen_inches", case)
        assert (await client.get(API, headers=guardian)).json()["items"] == []
        policy = f"{API}/policies/{RIGA}"
        for day in ("06-1٥", "06-2٠", "0٦-15"):
            r = await client.put(policy, json={"school_year_end": day}, headers=bearer(tokens.riga))
            assert_refused(r, "/school_year_end", day)
