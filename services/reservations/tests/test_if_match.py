"""`If-Match` compares strongly: a weak tag is 412, a malformed field 400."""

from __future__ import annotations

import httpx

from shared_kit.testing.http import bearer
from shared_kit.testing.preconditions import assert_if_match_rules

from .conftest import API, RIGA, Tokens, reserve


class TestIfMatch:
    async def test_policy(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        url, riga = f"{API}/policies/{RIGA}", bearer(tokens.riga)

        async def replace(if_match: str) -> httpx.Response:
            body = {"pickup_days": 3}
            return await client.put(url, json=body, headers={**riga, "If-Match": if_match})

        await assert_if_match_rules(replace, '"0"')
        assert (await client.get(url, headers=riga)).json()["version"] == 1

    async def test_cancel(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        made = await reserve(client, tokens.guardian)
        url, guardian = f"{API}/{made['id']}", bearer(tokens.guardian)

        async def cancel(if_match: str) -> httpx.Response:
            return await client.post(f"{url}/cancel", headers={**guardian, "If-Match": if_match})

        await assert_if_match_rules(cancel, f'"{made["version"]}"')
        assert (await client.get(url, headers=guardian)).json()["state"] == "cancelled"
