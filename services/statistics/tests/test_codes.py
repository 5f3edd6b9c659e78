"""ATVK codes and registration numbers take the ASCII digits 0-9 only."""

from __future__ import annotations

import httpx

from shared_kit.testing.digits import foreign_digits
from shared_kit.testing.http import bearer, problem

from .conftest import API, RIGA, SCHOOL_1, Tokens


def assert_refused(r: httpx.Response, pointer: str, case: str) -> None:
    body = problem(r, 422, "validation")
    assert pointer in [e["pointer"] for e in body["errors"]], (case, r.text)


class TestOtherScriptsDigits:
    async def test_paths_and_filters(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        analyst = bearer(tokens.analyst)
        for case, code in foreign_digits(RIGA).items():
            for path in (f"municipalities/{code}", f"municipalities/{code}/timeseries"):
                r = await client.get(f"{API}/{path}", headers=analyst)
                assert_refused(r, "/path/code", case)
            r = await client.get(
                f"{API}/export.csv", params={"municipality": code}, headers=analyst
            )
            assert_refused(r, "/query/municipality", case)
        for case, number in foreign_digits(SCHOOL_1).items():
            for path in (f"institutions/{number}", f"institutions/{number}/timeseries"):
                r = await client.get(f"{API}/{path}", headers=analyst)
                assert_refused(r, "/path/registration_number", case)
            r = await client.get(
                f"{API}/export.csv", params={"institution": number}, headers=analyst
            )
            assert_refused(r, "/query/institution", case)
