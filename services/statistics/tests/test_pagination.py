"""Every list endpoint answers a cursor it did not issue with a 422 naming `cursor`."""

from __future__ import annotations

import httpx

from shared_kit.testing.cursors import TIMESTAMP, UUID, assert_refuses_forged_cursors
from shared_kit.testing.http import bearer

from .conftest import API, Tokens


class TestForgedCursors:
    async def test_dead_letters(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        await assert_refuses_forged_cursors(
            client, f"{API}/ops/dead-letters", bearer(tokens.platform), TIMESTAMP, UUID
        )
