"""Every list endpoint answers a cursor it did not issue with a 422 naming `cursor`."""

from __future__ import annotations

from shared_kit.testing.cursors import TIMESTAMP, UUID, assert_refuses_forged_cursors
from shared_kit.testing.http import bearer

from .conftest import API, World


class TestForgedCursors:
    async def test_tickets_for_a_guardian_and_a_technician(self, world: World) -> None:
        for token in (world.tokens.guardian, world.tokens.technician):
            await assert_refuses_forged_cursors(world.client, API, bearer(token), TIMESTAMP, UUID)

    async def test_comments_and_dead_letters(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        comments = f"{API}/{ticket['id']}/comments"
        for token in (world.tokens.guardian, world.tokens.technician):
            await assert_refuses_forged_cursors(
                world.client, comments, bearer(token), TIMESTAMP, UUID
            )
        await assert_refuses_forged_cursors(
            world.client, f"{API}/ops/dead-letters", bearer(world.tokens.platform), TIMESTAMP, UUID
        )
