"""ATVK codes, registration numbers and personal codes take the ASCII digits 0-9 only."""

from __future__ import annotations

import httpx

from contracts_service.document.render import personal_code
from shared_kit.testing.digits import foreign_digits
from shared_kit.testing.http import bearer

from .conftest import CONTRACTS, RIGA, SCHOOL_A, Tokens, lender_body


def assert_refused(r: httpx.Response, pointer: str, case: str) -> None:
    assert r.status_code == 422, (case, r.text)
    assert pointer in [e["pointer"] for e in r.json()["errors"]], (case, r.text)


class TestOtherScriptsDigits:
    async def test_lenders_and_filters(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        riga = bearer(tokens.riga)
        for case, number in foreign_digits(SCHOOL_A).items():
            r = await client.post(
                f"{CONTRACTS}/lenders", json=lender_body(code=number), headers=riga
            )
            assert_refused(r, "/code", case)
            r = await client.get(CONTRACTS, params={"institution": number}, headers=riga)
            assert_refused(r, "/query/institution", case)
        for case, code in foreign_digits(RIGA).items():
            body = lender_body(municipality_code=code)
            r = await client.post(f"{CONTRACTS}/lenders", json=body, headers=riga)
            assert_refused(r, "/municipality_code", case)
            r = await client.get(CONTRACTS, params={"municipality": code}, headers=riga)
            assert_refused(r, "/query/municipality", case)
        assert (await client.get(f"{CONTRACTS}/lenders", headers=riga)).json()["items"] == []

    def test_a_personal_code_is_printed_with_its_hyphen_only_when_it_is_one(self) -> None:
        assert personal_code("01018510004") == "010185-10004"
        assert personal_code("010185-10004") == "010185-10004"
        for code in foreign_digits("01018510004").values():
            assert personal_code(code) == code
