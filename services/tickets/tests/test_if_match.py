"""`If-Match` compares strongly: a weak tag is 412, a malformed field 400."""

from __future__ import annotations

import httpx

from shared_kit.testing.http import bearer
from shared_kit.testing.preconditions import assert_if_match_rules

from .conftest import API, RIGA, World


class TestIfMatch:
    async def test_sla_policy(self, world: World) -> None:
        url, riga = f"{API}/sla-policies/{RIGA}/high", bearer(world.tokens.riga)

        async def replace(if_match: str) -> httpx.Response:
            body = {"response_minutes": 60, "resolution_minutes": 600}
            return await world.client.put(url, json=body, headers={**riga, "If-Match": if_match})

        await assert_if_match_rules(replace, '"0"')

    async def test_assignment(self, world: World) -> None:
        device = await world.device(status="available")
        ticket = await world.report(world.tokens.school_a, device)
        riga = bearer(world.tokens.riga)

        async def assign(if_match: str) -> httpx.Response:
            return await world.client.post(
                f"{API}/{ticket['id']}/assign",
                json={"assignee_id": "tech-0002"},
                headers={**riga, "If-Match": if_match},
            )

        await assert_if_match_rules(assign, f'"{ticket["version"]}"')
        assert (await world.get(ticket["id"]))["assignee_id"] == "tech-0002"
