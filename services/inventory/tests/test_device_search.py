"""The device search's orders, pages both ways, count and CSV export (the same filters)."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from inventory_service.config import InventorySettings
from inventory_service.models import Device
from inventory_service.schemas import DevicePage, DeviceRead
from inventory_service.service import export
from shared_kit.testing.cursors import (
    TEXT,
    UUID,
    assert_invalid_cursor,
    assert_refuses_forged_cursors,
    forged_cursors,
)
from shared_kit.testing.http import bearer

from .conftest import RIGA, SCHOOL_A, SCHOOL_B, VALMIERA, Tokens, device_body

DEVICES = "/api/v1/inventory/devices"
# RIX-000 … RIX-006: delivered 2021 (000-002, warranty to 2026-01) or 2024 (003-006, to 2029-09);
# RIX-006 has no delivery date, so no warranty end; serial numbers run the other way.
TAGS = [f"RIX-{i:03}" for i in range(7)]


@pytest.fixture
async def fleet(client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]) -> None:
    for i in range(7):
        body = device_body(
            f"SN-{9 - i:03}",
            f"RIX-{i:03}",
            funding_source="react_eu" if i % 2 else "municipal_budget",
            delivery_date=None if i == 6 else "2021-01-15" if i < 3 else "2024-09-01",
            institution_registration_number=SCHOOL_A if i < 5 else SCHOOL_B,
        )
        r = await client.post(DEVICES, json=body, headers=bearer(tokens.riga))
        assert r.status_code == 201, r.text
    r = await client.post(
        DEVICES,
        json=device_body(
            "VAL-1", "VAL-1", municipality_code=VALMIERA, institution_registration_number=None
        ),
        headers=bearer(tokens.valmiera),
    )
    assert r.status_code == 201, r.text
    # RIX-002 in repair, RIX-004 available: status order is in_stock, available, …, in_repair.
    for tag, to in (("RIX-002", "in_repair"), ("RIX-004", "available")):
        device = await by_tag(client, tokens, tag)
        r = await client.post(
            f"{DEVICES}/{device['id']}/transitions", json={"to": to}, headers=bearer(tokens.riga)
        )
        assert r.status_code == 200, r.text


async def by_tag(client: httpx.AsyncClient, tokens: Tokens, tag: str) -> dict[str, Any]:
    r = await client.get(DEVICES, params={"q": tag}, headers=bearer(tokens.riga))
    return dict(r.json()["items"][0])


async def tags(client: httpx.AsyncClient, tokens: Tokens, **params: Any) -> list[str]:
    r = await client.get(DEVICES, params=params, headers=bearer(tokens.riga))
    assert r.status_code == 200, r.text
    return [d["asset_tag"] for d in r.json()["items"]]


STATUS_ORDER = ["in_stock", "available", "reserved", "on_loan", "in_repair"]


class TestOrders:
    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            ("asset_tag", TAGS),
            ("-asset_tag", TAGS[::-1]),
            ("serial_number", TAGS[::-1]),
            ("-serial_number", TAGS),
        ],
    )
    async def test_by_a_text_field_both_ways(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None, sort: str, expected: list[str]
    ) -> None:
        assert await tags(client, tokens, sort=sort, municipality=RIGA) == expected

    @pytest.mark.parametrize("sort", ["status", "-status"])
    async def test_by_status_in_the_life_cycles_order(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None, sort: str
    ) -> None:
        r = await client.get(DEVICES, params={"sort": sort}, headers=bearer(tokens.riga))
        statuses = [STATUS_ORDER.index(d["status"]) for d in r.json()["items"]]
        assert statuses == sorted(statuses, reverse=sort.startswith("-"))
        assert statuses.count(STATUS_ORDER.index("in_stock")) == 5

    async def test_by_warranty_end_with_none_last(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        found = await tags(client, tokens, sort="warranty_ends_on")
        assert set(found[:3]) == {"RIX-000", "RIX-001", "RIX-002"}
        assert set(found[3:6]) == {"RIX-003", "RIX-004", "RIX-005"}
        assert found[6] == "RIX-006"
        assert await tags(client, tokens, sort="-warranty_ends_on") == found[::-1]

    async def test_pages_of_every_order_add_up_to_the_whole_order(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        for sort in ("status", "-status", "warranty_ends_on", "-warranty_ends_on", "-asset_tag"):
            whole = await tags(client, tokens, sort=sort)
            seen, cursor = [], None
            while True:
                params = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
                page = (
                    await client.get(DEVICES, params=params, headers=bearer(tokens.riga))
                ).json()
                seen += [d["asset_tag"] for d in page["items"]]
                cursor = page["next_cursor"]
                if not cursor:
                    break
            assert seen == whole, sort


class TestListFilters:
    async def test_a_status_given_twice_or_in_another_order_finds_the_same(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        """Each status is one parameter of the page's statement; repeats count once."""
        found = []
        for statuses in (["in_stock", "available"], ["available", "in_stock", "available"]):
            r = await client.get(DEVICES, params={"status": statuses}, headers=bearer(tokens.riga))
            assert r.status_code == 200, r.text
            found.append([d["id"] for d in r.json()["items"]])
        assert found[0] == found[1] and found[0]


class TestPagesBothWays:
    async def test_previous_pages_lead_back_to_the_first(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        riga, pages = bearer(tokens.riga), []
        params: dict[str, Any] = {"limit": 3, "sort": "-warranty_ends_on"}
        first = (await client.get(DEVICES, params=params, headers=riga)).json()
        assert first["prev_cursor"] is None
        page = first
        while page["next_cursor"]:
            pages.append([d["asset_tag"] for d in page["items"]])
            page = (
                await client.get(
                    DEVICES, params={**params, "cursor": page["next_cursor"]}, headers=riga
                )
            ).json()
        pages.append([d["asset_tag"] for d in page["items"]])
        assert [len(p) for p in pages] == [3, 3, 1]
        back = []
        while page["prev_cursor"]:
            page = (
                await client.get(
                    DEVICES, params={**params, "before": page["prev_cursor"]}, headers=riga
                )
            ).json()
            back.append([d["asset_tag"] for d in page["items"]])
            assert page["next_cursor"]
        assert back == pages[-2::-1]

    async def test_cursor_and_before_together_is_422(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        page = (await client.get(DEVICES, params={"limit": 2}, headers=bearer(tokens.riga))).json()
        c = page["next_cursor"]
        r = await client.get(
            DEVICES, params={"cursor": c, "before": c}, headers=bearer(tokens.riga)
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["pointer"] == "/query/before"


class TestTheAnswer:
    """The page is written straight from rows: byte for byte what pydantic wrote of the ORM
    devices before (every field, its order, UTC as Z, prices as strings, non-ASCII text)."""

    async def test_pages_are_what_pydantic_writes_of_the_devices(
        self, client: httpx.AsyncClient, tokens: Tokens, settings: InventorySettings, fleet: None
    ) -> None:
        full = device_body(
            "SN-FULL",
            "RIX-FULL",
            order_reference="Līgums 2024/17",
            extra_warranty_months=12,
            insurer="Balta",
            insurance_policy="POL-1",
            insured_until="2027-08-31",
            condition="good",
            accessories=["Lādētājs", "soma"],
            notes='Piezīme: "ātri" ✓',
        )
        bare = device_body(
            "SN-BARE", "RIX-BARE", institution_registration_number=None, purchase_price=None
        )
        for body in (full, {**bare, "delivery_date": None}):
            r = await client.post(DEVICES, json=body, headers=bearer(tokens.riga))
            assert r.status_code == 201, r.text
        riga = bearer(tokens.riga)
        searches: list[dict[str, Any]] = [
            {"limit": 4},
            {"limit": 4, "sort": "-warranty_ends_on"},
            {"status": ["in_stock", "available"], "sort": "status"},
            {"q": "RIX-F"},
        ]
        for params in searches:
            first = await client.get(DEVICES, params=params, headers=riga)
            later = (
                await client.get(
                    DEVICES,
                    params={**params, "cursor": first.json()["next_cursor"] or ""},
                    headers=riga,
                )
                if first.json()["next_cursor"]
                else None
            )
            for r in (first, later) if later else (first,):
                assert r.status_code == 200
                assert r.headers["content-type"] == "application/json"
                assert r.content == await pydantic_page(settings, r.json())

    async def test_the_empty_page(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        r = await client.get(DEVICES, params={"q": "NONE"}, headers=bearer(tokens.riga))
        assert r.content == b'{"items":[],"next_cursor":null,"prev_cursor":null}'


async def pydantic_page(settings: InventorySettings, page: dict[str, Any]) -> bytes:
    """The page as pydantic writes DevicePage of the same devices loaded as ORM objects."""
    ids = [d["id"] for d in page["items"]]
    engine = create_async_engine(settings.database_url)
    try:
        async with AsyncSession(engine) as session:
            devices = {
                str(d.id): d
                for d in await session.scalars(select(Device).where(Device.id.in_(ids)))
            }
    finally:
        await engine.dispose()
    expected = DevicePage(
        items=[DeviceRead.model_validate(devices[i]) for i in ids],
        next_cursor=page["next_cursor"],
        prev_cursor=page["prev_cursor"],
    )
    return expected.model_dump_json().encode()


class TestCount:
    async def test_the_count_uses_the_same_filters_and_tenancy(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        async def count(token: str, **params: Any) -> int:
            r = await client.get(f"{DEVICES}/count", params=params, headers=bearer(token))
            assert r.status_code == 200, r.text
            return int(r.json()["count"])

        assert await count(tokens.riga) == 7
        assert await count(tokens.riga, institution=SCHOOL_B) == 2
        assert await count(tokens.riga, funding_source="municipal_budget", status="in_stock") == 2
        assert await count(tokens.platform) == 8
        assert await count(tokens.valmiera) == 1
        r = await client.get(
            f"{DEVICES}/count", params={"municipality": RIGA}, headers=bearer(tokens.valmiera)
        )
        assert r.status_code == 403


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


class TestCsv:
    async def test_csv_holds_what_the_search_finds_in_its_order(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        params = {"municipality": RIGA, "funding_source": "react_eu", "sort": "-asset_tag"}
        r = await client.get(
            DEVICES, params={**params, "format": "csv"}, headers=bearer(tokens.riga)
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        rows = rows_of(r.text)
        page = (await client.get(DEVICES, params=params, headers=bearer(tokens.riga))).json()
        assert [row["id"] for row in rows] == [d["id"] for d in page["items"]]
        first = rows[0]
        assert (first["asset_tag"], first["institution_registration_number"]) == (
            "RIX-005",
            SCHOOL_B,
        )
        assert (
            first["catalogue_item_code"] == "CB-11-GR1-3" and first["funding_source"] == "react_eu"
        )
        assert first["institution_name"] == "Rīgas 2. pamatskola"

    async def test_accept_text_csv_asks_for_it_too_and_tenancy_holds(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        headers = {**bearer(tokens.valmiera), "Accept": "text/csv"}
        r = await client.get(DEVICES, headers=headers)
        assert r.status_code == 200 and [row["asset_tag"] for row in rows_of(r.text)] == ["VAL-1"]
        r = await client.get(DEVICES, params={"municipality": RIGA}, headers=headers)
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"

    async def test_a_csv_over_the_bound_is_refused_before_it_starts(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        fleet: None,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(export, "MAX_EXPORT_ROWS", 6)
        r = await client.get(DEVICES, params={"format": "csv"}, headers=bearer(tokens.riga))
        assert r.status_code == 400 and r.json()["type"].endswith("export-too-large")
        r = await client.get(
            DEVICES, params={"format": "csv", "institution": SCHOOL_B}, headers=bearer(tokens.riga)
        )
        assert r.status_code == 200 and len(rows_of(r.text)) == 2

    async def test_a_long_export_comes_in_batches(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        fleet: None,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(export, "BATCH", 2)
        r = await client.get(
            DEVICES, params={"format": "csv", "sort": "status"}, headers=bearer(tokens.riga)
        )
        assert [row["asset_tag"] for row in rows_of(r.text)] == await tags(
            client, tokens, sort="status"
        )

    def test_a_cell_that_looks_like_a_formula_is_quoted(self) -> None:
        assert export._line(["=SUM(A1)", "-RIX", "ok", None]) == "'=SUM(A1),'-RIX,ok,\r\n"


class TestBadQueries:
    @pytest.mark.parametrize(
        "params",
        [
            {"sort": "purchase_price"},
            {"sort": "--status"},
            {"sort": "status,asset_tag"},
            {"format": "xlsx"},
            {"before": "not a cursor!"},
        ],
    )
    async def test_bad_values_are_422_problems(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        params: dict[str, Any],
    ) -> None:
        r = await client.get(DEVICES, params=params, headers=bearer(tokens.riga))
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"

    async def test_forged_cursors_in_the_new_orders(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        riga = bearer(tokens.riga)
        await assert_refuses_forged_cursors(client, DEVICES, riga, "in_stock", UUID, sort="status")
        await assert_refuses_forged_cursors(
            client, DEVICES, riga, "2026-01-02", UUID, sort="warranty_ends_on"
        )
        await assert_refuses_forged_cursors(client, DEVICES, riga, TEXT, UUID, sort="-asset_tag")
        for case, cursor in forged_cursors(TEXT, UUID).items():
            r = await client.get(DEVICES, params={"before": cursor}, headers=riga)
            assert_invalid_cursor(r, "before", case)


class TestAllowedTransitions:
    async def test_the_statuses_each_caller_may_move_a_device_to(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        url = f"{DEVICES}/{device['id']}/transitions"
        r = await client.get(url, headers=bearer(tokens.riga))
        assert r.status_code == 200 and r.headers["etag"] == '"1"'
        assert r.json() == {
            "status": "in_stock",
            "allowed": ["available", "in_repair", "lost", "stolen", "written_off"],
        }
        # A technician moves everyday statuses but writes nothing off.
        r = await client.get(url, headers=bearer(tokens.technician))
        assert r.json()["allowed"] == ["available", "in_repair", "lost", "stolen"]
        assert (await client.get(url, headers=bearer(tokens.valmiera))).status_code == 403


class TestSeveralTenants:
    """A caller of several municipalities or schools sees the devices of each, and no others."""

    async def test_two_municipalities_see_both_fleets(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        both = tokens.mint(roles=["municipality_admin"], municipalities=[RIGA, VALMIERA])
        r = await client.get(DEVICES, params={"limit": 100}, headers=bearer(both))
        assert r.status_code == 200, r.text
        assert [d["asset_tag"] for d in r.json()["items"]] == [*TAGS, "VAL-1"]

    async def test_two_schools_see_their_devices_and_a_status_filter_of_two_holds(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        schools = tokens.mint(roles=["institution_admin"], institutions=[SCHOOL_A, SCHOOL_B])
        r = await client.get(DEVICES, params={"limit": 100}, headers=bearer(schools))
        assert [d["asset_tag"] for d in r.json()["items"]] == TAGS  # not Valmiera's
        params = {"status": ["available", "in_repair"], "sort": "-status"}
        r = await client.get(DEVICES, params=params, headers=bearer(schools))
        assert [(d["asset_tag"], d["status"]) for d in r.json()["items"]] == [
            ("RIX-002", "in_repair"),
            ("RIX-004", "available"),
        ]
        first = await client.get(DEVICES, params={**params, "limit": 1}, headers=bearer(schools))
        cursor = first.json()["next_cursor"]
        rest = {**params, "limit": 1, "cursor": cursor}
        r = await client.get(DEVICES, params=rest, headers=bearer(schools))
        assert [d["asset_tag"] for d in r.json()["items"]] == ["RIX-004"]
