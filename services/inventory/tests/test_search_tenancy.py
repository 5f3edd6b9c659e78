"""A device search with several tenants in the caller's scope: every one of them, nobody else's."""

from __future__ import annotations

from typing import Any

import httpx

from shared_kit.testing.http import bearer

from .conftest import RIGA, SCHOOL_A, SCHOOL_B, VALMIERA, VALMIERA_SCHOOL, Tokens
from .test_device_search import DEVICES, fleet

__all__ = ["fleet"]  # the fixture, used by the tests below


class TestSeveralTenants:
    async def test_each_scope_finds_its_devices_on_every_page_and_in_the_count(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        for claims, expected in (
            ({"roles": ["municipality_admin"], "municipalities": [RIGA, VALMIERA]}, 8),
            ({"roles": ["technician"], "municipalities": [VALMIERA]}, 1),
            ({"roles": ["institution_admin"], "institutions": [SCHOOL_A, SCHOOL_B]}, 7),
            ({"roles": ["institution_admin"], "institutions": [SCHOOL_B, VALMIERA_SCHOOL]}, 2),
            ({"roles": ["institution_admin"], "institutions": []}, 0),
        ):
            token = bearer(tokens.mint(**claims))
            seen, cursor = [], None
            while True:
                params: dict[str, Any] = {
                    "limit": 3,
                    "sort": "-asset_tag",
                    **({"cursor": cursor} if cursor else {}),
                }
                page = (await client.get(DEVICES, params=params, headers=token)).json()
                seen += [d["asset_tag"] for d in page["items"]]
                if not (cursor := page["next_cursor"]):
                    break
            count = await client.get(f"{DEVICES}/count", headers=token)
            assert (len(seen), count.json()["count"]) == (expected, expected), claims
            assert seen == sorted(seen, reverse=True)
