"""`If-Match` compares strongly: a weak tag is 412, a malformed field 400."""

from __future__ import annotations

from typing import Any

import httpx

from shared_kit.testing.http import bearer
from shared_kit.testing.preconditions import assert_if_match_rules

from .conftest import RIGA, Tokens

API = "/api/v1/inventory"


class TestIfMatch:
    async def test_municipality(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        url, admin = f"{API}/municipalities/{RIGA}", bearer(tokens.platform)

        async def rename(if_match: str) -> httpx.Response:
            headers = {**admin, "If-Match": if_match}
            return await client.patch(url, json={"name": "Rīga"}, headers=headers)

        await assert_if_match_rules(rename, '"1"')
        assert (await client.get(url, headers=admin)).json()["version"] == 2

    async def test_device(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        url, riga = f"{API}/devices/{device['id']}", bearer(tokens.riga)

        async def annotate(if_match: str) -> httpx.Response:
            headers = {**riga, "If-Match": if_match}
            return await client.patch(url, json={"notes": "checked"}, headers=headers)

        await assert_if_match_rules(annotate, '"1"')
        assert (await client.get(url, headers=riga)).json()["version"] == 2
