"""Every list endpoint answers a cursor it did not issue with a 422 naming `cursor`."""

from __future__ import annotations

from typing import Any

import httpx

from shared_kit.testing.cursors import TEXT, TIMESTAMP, UUID, assert_refuses_forged_cursors
from shared_kit.testing.http import bearer

from .conftest import Tokens

API = "/api/v1/inventory"


class TestForgedCursors:
    async def test_reference_data_and_catalogue(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        for path in ("municipalities", "institutions", "catalogue-items"):
            await assert_refuses_forged_cursors(
                client, f"{API}/{path}", bearer(tokens.platform), TEXT
            )

    async def test_devices_in_each_sort_order(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        url, riga = f"{API}/devices", bearer(tokens.riga)
        await assert_refuses_forged_cursors(client, url, riga, TEXT, UUID)
        await assert_refuses_forged_cursors(client, url, riga, TEXT, UUID, sort="serial_number")
        await assert_refuses_forged_cursors(client, url, riga, TIMESTAMP, UUID, sort="created_at")

    async def test_device_history_and_dead_letters(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        history = f"{API}/devices/{device['id']}/history"
        await assert_refuses_forged_cursors(client, history, bearer(tokens.riga), "1")
        await assert_refuses_forged_cursors(
            client, f"{API}/ops/dead-letters", bearer(tokens.platform), TIMESTAMP, UUID
        )
