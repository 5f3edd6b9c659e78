"""The benchmarks' bulk seed of tickets (`bench.tickets_seed`) writes tickets the API reads like
its own: the open queue, oldest first, page by page; the queue summary; new reports for the
seeded devices."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType
from typing import Any

import httpx
import pytest

from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer
from shared_kit.testing.tokens import AudienceTokens, TokenIssuer
from tickets_service.config import TicketsSettings
from tickets_service.main import MIGRATIONS, create_app

API = "/api/v1/tickets"
RIGA, SCHOOL = "0010000", "3113900001"
VALMIERA, VALMIERA_SCHOOL = "0940200", "4213900001"
START = dt.datetime(2026, 10, 5, 7, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def seeding(from_root: Callable[[str], ModuleType]) -> ModuleType:
    """`bench.tickets_seed` as `python -m bench` finds it: from the repository root."""
    return from_root("bench.tickets_seed")


@pytest.fixture
async def settings(service_settings: Callable[..., Awaitable[Any]]) -> TicketsSettings:
    """The tickets service's settings on a fresh database."""
    settings: TicketsSettings = await service_settings(TicketsSettings, MIGRATIONS)
    return settings


@pytest.fixture
async def client(settings: TicketsSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A running tickets app whose clock stands at the seed's now."""
    async with running_app(create_app(settings, TestClock(START))) as running:
        yield running


async def test_seeded_queue_reads_like_the_apis_own(
    seeding: ModuleType,
    settings: TicketsSettings,
    client: httpx.AsyncClient,
    token_issuer: TokenIssuer,
) -> None:
    counts = await seeding.seed(
        settings.database_url,
        tickets=2_000,
        devices=100,
        tenancies=[seeding.Tenancy(RIGA, SCHOOL), seeding.Tenancy(VALMIERA, VALMIERA_SCHOOL)],
        now=START,
    )
    assert counts["tickets"] == 2_000
    technician = AudienceTokens(token_issuer, "tickets").mint(
        "tech-0001", roles=["technician"], municipalities=[RIGA]
    )
    tech = bearer(technician)
    r = await client.get(API, params={"open": "true", "limit": 50}, headers=tech)
    assert r.status_code == 200, r.text
    page = r.json()
    assert len(page["items"]) == 50 and page["next_cursor"]
    assert {t["municipality_code"] for t in page["items"]} == {RIGA}
    assert all(t["state"] not in ("resolved", "closed") for t in page["items"])
    opened = [t["opened_at"] for t in page["items"]]
    assert opened == sorted(opened)
    assert page["items"][0]["device"]["under_warranty"] is True

    r = await client.get(f"{API}/queues/{RIGA}/summary", headers=tech)
    summary = r.json()
    assert summary["open_total"] == 200  # 20 % of Rīga's 1,000
    assert summary["by_state"]["closed"] == 800

    report = {"device_id": str(seeding.device_id(0)), "category": "keyboard", "description": "Keys"}
    r = await client.post(API, json=report, headers=tech)
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["asset_tag"] == "BENCH-0" and ticket["municipality_code"] == RIGA
