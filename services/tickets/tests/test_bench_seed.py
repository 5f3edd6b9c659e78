"""The benchmarks' bulk seed writes tickets the API reads like its own: the open queue, oldest
first, page by page; the queue summary; new reports for the seeded devices."""

from __future__ import annotations

from tickets_service.bench import Tenancy, device_id, seed
from tickets_service.config import TicketsSettings

from .conftest import API, RIGA, SCHOOL_A, START, VALMIERA, VALMIERA_SCHOOL, World, bearer


async def test_seeded_queue_reads_like_the_apis_own(
    world: World, settings: TicketsSettings
) -> None:
    counts = await seed(
        settings.database_url,
        tickets=2_000,
        devices=100,
        tenancies=[Tenancy(RIGA, SCHOOL_A), Tenancy(VALMIERA, VALMIERA_SCHOOL)],
        now=START,
    )
    assert counts["tickets"] == 2_000
    tech = bearer(world.tokens.technician)
    r = await world.client.get(API, params={"open": "true", "limit": 50}, headers=tech)
    assert r.status_code == 200, r.text
    page = r.json()
    assert len(page["items"]) == 50 and page["next_cursor"]
    assert {t["municipality_code"] for t in page["items"]} == {RIGA}
    assert all(t["state"] not in ("resolved", "closed") for t in page["items"])
    opened = [t["opened_at"] for t in page["items"]]
    assert opened == sorted(opened)
    assert page["items"][0]["device"]["under_warranty"] is True

    r = await world.client.get(f"{API}/queues/{RIGA}/summary", headers=tech)
    summary = r.json()
    assert summary["open_total"] == 200  # 20 % of Rīga's 1,000
    assert summary["by_state"]["closed"] == 800

    ticket = await world.report(world.tokens.technician, str(device_id(0)), category="keyboard")
    assert ticket["asset_tag"] == "BENCH-0" and ticket["municipality_code"] == RIGA
