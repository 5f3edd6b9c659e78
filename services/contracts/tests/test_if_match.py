"""`If-Match` compares strongly: a weak tag is 412, a malformed field 400."""

from __future__ import annotations

import httpx

from shared_kit.testing.http import bearer
from shared_kit.testing.preconditions import assert_if_match_rules

from .conftest import CONTRACTS, SCHOOL_A, Tokens, lender_body


class TestIfMatch:
    async def test_lender(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        riga = bearer(tokens.riga)
        made = await client.post(f"{CONTRACTS}/lenders", json=lender_body(), headers=riga)
        assert made.status_code == 201, made.text
        url = f"{CONTRACTS}/lenders/institution/{SCHOOL_A}"

        async def move(if_match: str) -> httpx.Response:
            body = {"address": "Jaunā iela 2, Rīga"}
            return await client.patch(url, json=body, headers={**riga, "If-Match": if_match})

        await assert_if_match_rules(move, made.headers["etag"])
        assert (await client.get(url, headers=riga)).json()["address"] == "Jaunā iela 2, Rīga"
