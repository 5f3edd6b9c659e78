"""Every list endpoint answers a cursor it did not issue with a 422 naming `cursor`."""

from __future__ import annotations

import httpx

from shared_kit.testing.cursors import TEXT, TIMESTAMP, UUID, assert_refuses_forged_cursors
from shared_kit.testing.http import bearer

from .conftest import Tokens

API = "/api/v1/gateway"


class TestForgedCursors:
    async def test_clients_and_grants(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        for token in (tokens.riga, tokens.platform):
            await assert_refuses_forged_cursors(client, f"{API}/clients", bearer(token), TEXT)
        # A municipality admin's grants include their schools' admins, which VIIS lists (not
        # reachable here: see test_staff_grants); the cursor is the same.
        await assert_refuses_forged_cursors(
            client, f"{API}/grants", bearer(tokens.platform), TIMESTAMP, UUID
        )

    async def test_audit_and_dead_letters(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        admin = bearer(tokens.platform)
        await assert_refuses_forged_cursors(client, f"{API}/audit", admin, "1")
        await assert_refuses_forged_cursors(
            client, f"{API}/ops/dead-letters", admin, TIMESTAMP, UUID
        )
