"""Every list endpoint answers a cursor it did not issue with a 422 naming `cursor`."""

from __future__ import annotations

import httpx

from shared_kit.testing.cursors import TEXT, TIMESTAMP, UUID, assert_refuses_forged_cursors
from shared_kit.testing.http import bearer

from .conftest import CONTRACTS, Tokens


class TestForgedCursors:
    async def test_contracts_for_a_guardian_and_a_municipality(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        for token in (tokens.guardian(), tokens.riga):
            await assert_refuses_forged_cursors(client, CONTRACTS, bearer(token), TIMESTAMP, UUID)

    async def test_lenders_and_dead_letters(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await assert_refuses_forged_cursors(
            client, f"{CONTRACTS}/lenders", bearer(tokens.riga), "institution", TEXT
        )
        await assert_refuses_forged_cursors(
            client, f"{CONTRACTS}/ops/dead-letters", bearer(tokens.platform), TIMESTAMP, UUID
        )
