"""Every list endpoint answers a cursor it did not issue with a 422 naming `cursor`."""

from __future__ import annotations

import httpx

from shared_kit.testing.cursors import TIMESTAMP, UUID, assert_refuses_forged_cursors
from shared_kit.testing.http import bearer

from .conftest import API, SCHOOL_A, Tokens


class TestForgedCursors:
    async def test_reservations_for_a_guardian_and_a_school(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        for token in (tokens.guardian, tokens.school_a):
            await assert_refuses_forged_cursors(client, API, bearer(token), TIMESTAMP, UUID)

    async def test_waitlist_and_dead_letters(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        waitlist = f"{API}/institutions/{SCHOOL_A}/waitlist"
        await assert_refuses_forged_cursors(
            client, waitlist, bearer(tokens.school_a), "-10", TIMESTAMP, UUID
        )
        await assert_refuses_forged_cursors(
            client, f"{API}/ops/dead-letters", bearer(tokens.platform), TIMESTAMP, UUID
        )
