"""Devices over HTTP: registration, reads, updates, transitions, history, tenancy."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from inventory_service.config import InventorySettings
from shared_kit.events.outbox import OutboxMessage
from shared_kit.testing.http import bearer, problem

from .conftest import RIGA, SCHOOL_A, SCHOOL_B, VALMIERA_SCHOOL, Tokens, device_body

DEVICES = "/api/v1/inventory/devices"


async def count(settings: InventorySettings, table: Any) -> int:
    """Rows in a table, read straight from the service's database."""
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(table)) or 0)
    finally:
        await engine.dispose()


async def payloads(settings: InventorySettings) -> list[Any]:
    """Payloads of the outbox's events, in order."""
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.scalars(select(OutboxMessage.payload).order_by(OutboxMessage.seq))
            return [json.loads(p) for p in rows]
    finally:
        await engine.dispose()


class TestRegister:
    async def test_registers_with_derived_warranty_history_and_event(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        device: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        # 36 months base + 24 months catalogue extension from 2024-09-01.
        assert device["warranty_ends_on"] == "2029-09-01"
        assert device["status"] == "in_stock"
        assert device["serial_number"] == "SN-0001"
        history = await client.get(f"{DEVICES}/{device['id']}/history", headers=bearer(tokens.riga))
        assert [h["action"] for h in history.json()["items"]] == ["registered"]
        assert await count(settings, OutboxMessage) == 1
        [payload] = await payloads(settings)
        assert payload["device"]["school_levels"] == ["grades 1-3"]  # the catalogue item's

    async def test_serial_is_normalised_and_unique(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        r = await client.post(
            DEVICES, json=device_body(" sn-0001 ", "RIX-0002"), headers=bearer(tokens.riga)
        )
        assert "SN-0001" in problem(r, 409, "duplicate")["detail"]

    async def test_asset_tag_unique_within_municipality(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        device: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        r = await client.post(
            DEVICES, json=device_body("SN-0002", "RIX-0001"), headers=bearer(tokens.riga)
        )
        problem(r, 409, "duplicate")
        assert await count(settings, OutboxMessage) == 1  # nothing half-written

    async def test_bad_fields_are_each_named(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        body = device_body(
            "x", "RIX-1", funding_source="lottery", purchase_price="-5", unknown_field=1
        )
        r = await client.post(DEVICES, json=body, headers=bearer(tokens.riga))
        pointers = {e["pointer"] for e in problem(r, 422, "validation")["errors"]}
        assert {
            "/serial_number",
            "/funding_source",
            "/purchase_price",
            "/unknown_field",
        } <= pointers

    async def test_malformed_json_is_a_problem(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        r = await client.post(
            DEVICES,
            content=b"{not json",
            headers={**bearer(tokens.riga), "content-type": "application/json"},
        )
        problem(r, 422, "validation")

    async def test_text_with_nul_is_422_not_500(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        body = device_body("SN-NUL", "T-NUL", notes="bad\u0000byte")
        r = await client.post(DEVICES, json=body, headers=bearer(tokens.riga))
        problem(r, 422, "unprocessable")
        search = await client.get(DEVICES, params={"q": "\x00"}, headers=bearer(tokens.riga))
        problem(search, 422, "unprocessable")

    async def test_unknown_catalogue_item_is_404(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        r = await client.post(
            DEVICES,
            json=device_body("SN-9", "T-9", catalogue_item_code="NOPE"),
            headers=bearer(tokens.riga),
        )
        problem(r, 404, "catalogue-item-not-found")

    async def test_institution_of_another_municipality_is_refused(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        body = device_body("SN-9", "T-9", institution_registration_number=VALMIERA_SCHOOL)
        r = await client.post(DEVICES, json=body, headers=bearer(tokens.riga))
        problem(r, 422, "institution-outside-municipality")

    async def test_another_municipality_may_not_register_here(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        r = await client.post(
            DEVICES, json=device_body("SN-9", "T-9"), headers=bearer(tokens.valmiera)
        )
        problem(r, 403, "tenant-forbidden")
        assert await count(settings, OutboxMessage) == 0

    async def test_machine_client_needs_write_scope(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        denied = await client.post(
            DEVICES, json=device_body("SN-9", "T-9"), headers=bearer(tokens.riga_reader)
        )
        problem(denied, 403, "tenant-forbidden")
        allowed = await client.post(
            DEVICES, json=device_body("SN-9", "T-9"), headers=bearer(tokens.riga_client)
        )
        assert allowed.status_code == 201


class TestAuthentication:
    async def test_missing_token_is_401_problem(self, client: httpx.AsyncClient) -> None:
        r = await client.get(DEVICES)
        problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"

    async def test_garbage_token_is_401(self, client: httpx.AsyncClient) -> None:
        r = await client.get(DEVICES, headers=bearer("not.a.token"))
        problem(r, 401, "unauthorized")

    async def test_expired_token_is_401(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        expired = tokens.mint(roles=["platform_admin"], ttl_s=-120)
        r = await client.get(DEVICES, headers=bearer(expired))
        assert "expired" in problem(r, 401, "unauthorized")["detail"]

    async def test_wrong_audience_is_401(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        other = tokens.mint(roles=["platform_admin"], audience="someone-else")
        problem(await client.get(DEVICES, headers=bearer(other)), 401, "unauthorized")

    async def test_rotated_key_is_fetched_on_unknown_kid(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        before = tokens.mint(roles=["platform_admin"])
        assert (await client.get(DEVICES, headers=bearer(before))).status_code == 200
        tokens.issuer.rotate()
        fresh = tokens.mint(roles=["platform_admin"])
        assert (await client.get(DEVICES, headers=bearer(fresh))).status_code == 200

    async def test_guardian_has_no_inventory_access(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        problem(await client.get(DEVICES, headers=bearer(tokens.guardian)), 403, "forbidden")


class TestReadAndTenancy:
    async def test_get_returns_etag(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        r = await client.get(f"{DEVICES}/{device['id']}", headers=bearer(tokens.riga))
        assert r.status_code == 200
        assert r.headers["etag"] == '"1"'

    async def test_other_municipality_is_denied(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        r = await client.get(f"{DEVICES}/{device['id']}", headers=bearer(tokens.valmiera))
        problem(r, 403, "tenant-forbidden")
        listed = await client.get(DEVICES, headers=bearer(tokens.valmiera))
        assert listed.json()["items"] == []
        filtered = await client.get(
            DEVICES, params={"municipality": RIGA}, headers=bearer(tokens.valmiera)
        )
        problem(filtered, 403, "tenant-forbidden")
        patch = await client.patch(
            f"{DEVICES}/{device['id']}", json={"notes": "x"}, headers=bearer(tokens.valmiera)
        )
        problem(patch, 403, "tenant-forbidden")

    async def test_institution_admin_sees_only_their_devices(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        other = await client.post(
            DEVICES,
            headers=bearer(tokens.riga),
            json=device_body("SN-B", "RIX-B", institution_registration_number=SCHOOL_B),
        )
        listed = await client.get(DEVICES, headers=bearer(tokens.school_a))
        assert [d["id"] for d in listed.json()["items"]] == [device["id"]]
        denied = await client.get(
            f"{DEVICES}/{other.json()['id']}", headers=bearer(tokens.school_a)
        )
        problem(denied, 403, "tenant-forbidden")
        update = await client.patch(
            f"{DEVICES}/{device['id']}", json={"notes": "mine"}, headers=bearer(tokens.school_a)
        )
        # institutions see and move devices; they do not edit
        problem(update, 403, "tenant-forbidden")

    @pytest.mark.parametrize("reader", ["analyst", "programme"])
    async def test_analyst_reads_everything_writes_nothing(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any], reader: str
    ) -> None:
        token = getattr(tokens, reader)
        assert (
            await client.get(f"{DEVICES}/{device['id']}", headers=bearer(token))
        ).status_code == 200
        r = await client.post(
            f"{DEVICES}/{device['id']}/transitions",
            json={"to": "available"},
            headers=bearer(token),
        )
        problem(r, 403, "tenant-forbidden")

    async def test_unknown_device_is_404_and_bad_id_422(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        missing = await client.get(
            f"{DEVICES}/00000000-0000-0000-0000-000000000000", headers=bearer(tokens.riga)
        )
        problem(missing, 404, "device-not-found")
        malformed = await client.get(f"{DEVICES}/not-a-uuid", headers=bearer(tokens.riga))
        problem(malformed, 422, "validation")


class TestUpdate:
    async def test_patch_assigns_and_records_history(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        device: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        r = await client.patch(
            f"{DEVICES}/{device['id']}",
            headers={**bearer(tokens.riga), "If-Match": '"1"'},
            json={"institution_registration_number": SCHOOL_B, "extra_warranty_months": 12},
        )
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2 and r.headers["etag"] == '"2"'
        assert r.json()["warranty_ends_on"] == "2030-09-01"
        history = await client.get(f"{DEVICES}/{device['id']}/history", headers=bearer(tokens.riga))
        last = history.json()["items"][-1]
        assert last["action"] == "updated"
        assert last["changes"]["institution"] == [SCHOOL_A, SCHOOL_B]
        assert last["changes"]["extra_warranty_months"] == [0, 12]
        # registered + assigned + updated
        assert await count(settings, OutboxMessage) == 3

    async def test_stale_if_match_is_412(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        url, headers = f"{DEVICES}/{device['id']}", bearer(tokens.riga)
        first = await client.patch(url, json={"notes": "a"}, headers={**headers, "If-Match": '"1"'})
        assert first.status_code == 200
        stale = await client.patch(url, json={"notes": "b"}, headers={**headers, "If-Match": '"1"'})
        assert problem(stale, 412, "precondition-failed")["current_etag"] == '"2"'

    async def test_concurrent_updates_with_same_etag_one_wins(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        url = f"{DEVICES}/{device['id']}"
        headers = {**bearer(tokens.riga), "If-Match": '"1"'}
        results = await asyncio.gather(
            *(client.patch(url, json={"notes": f"writer {i}"}, headers=headers) for i in range(5))
        )
        assert sorted(r.status_code for r in results) == [200, 412, 412, 412, 412]
        final = await client.get(url, headers=bearer(tokens.riga))
        assert final.json()["version"] == 2

    async def test_duplicate_asset_tag_on_update(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        await client.post(DEVICES, json=device_body("SN-2", "RIX-2"), headers=bearer(tokens.riga))
        r = await client.patch(
            f"{DEVICES}/{device['id']}", json={"asset_tag": "rix-2"}, headers=bearer(tokens.riga)
        )
        problem(r, 409, "duplicate")


class TestTransitions:
    async def test_life_cycle_and_repair_return(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        url = f"{DEVICES}/{device['id']}/transitions"
        for to, who in (
            ("available", tokens.riga),
            ("on_loan", tokens.school_a),
            ("in_repair", tokens.technician),
            ("on_loan", tokens.technician),
        ):
            r = await client.post(url, json={"to": to, "reason": "test"}, headers=bearer(who))
            assert r.status_code == 200, r.text
            assert r.json()["status"] == to

    async def test_illegal_transition_is_409_with_allowed(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        r = await client.post(
            f"{DEVICES}/{device['id']}/transitions",
            json={"to": "on_loan"},
            headers=bearer(tokens.riga),
        )
        # in_stock → on_loan must go through available
        body = problem(r, 409, "illegal-transition")
        assert body["current_status"] == "in_stock"
        assert "available" in body["allowed"]

    async def test_written_off_is_final_and_only_for_owners(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        url = f"{DEVICES}/{device['id']}/transitions"
        denied = await client.post(url, json={"to": "written_off"}, headers=bearer(tokens.school_a))
        problem(denied, 403, "tenant-forbidden")
        done = await client.post(url, json={"to": "written_off"}, headers=bearer(tokens.riga))
        assert done.status_code == 200
        again = await client.post(url, json={"to": "available"}, headers=bearer(tokens.riga))
        problem(again, 409, "illegal-transition")


class TestSearch:
    @pytest.fixture
    async def fleet(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        for i in range(7):
            body = device_body(
                f"SN-{i:03}",
                f"RIX-{i:03}",
                funding_source="react_eu" if i % 2 else "municipal_budget",
                delivery_date="2021-01-15" if i < 3 else "2024-09-01",
                institution_registration_number=SCHOOL_A if i < 5 else SCHOOL_B,
            )
            r = await client.post(DEVICES, json=body, headers=bearer(tokens.riga))
            assert r.status_code == 201

    async def test_pages_are_stable_and_complete(
        self, client: httpx.AsyncClient, tokens: Tokens, fleet: None
    ) -> None:
        seen, cursor = [], None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(DEVICES, params=params, headers=bearer(tokens.riga))).json()
            seen += [d["asset_tag"] for d in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == [f"RIX-{i:03}" for i in range(7)]

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"funding_source": "react_eu"}, ["RIX-001", "RIX-003", "RIX-005"]),
            ({"institution": SCHOOL_B}, ["RIX-005", "RIX-006"]),
            ({"warranty_before": "2026-02-01"}, ["RIX-000", "RIX-001", "RIX-002"]),
            ({"warranty_before": "2026-01-15"}, []),
            ({"q": "sn-00"}, [f"RIX-{i:03}" for i in range(7)]),
            ({"q": "rix-006"}, ["RIX-006"]),
            ({"os": "windows"}, []),
            ({"category": "chromebook", "status": "in_stock", "limit": 2}, ["RIX-000", "RIX-001"]),
        ],
    )
    async def test_filters(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        fleet: None,
        params: dict[str, Any],
        expected: list[str],
    ) -> None:
        r = await client.get(DEVICES, params=params, headers=bearer(tokens.riga))
        assert r.status_code == 200, r.text
        assert [d["asset_tag"] for d in r.json()["items"]] == expected

    @pytest.mark.parametrize(
        "params",
        [
            {"cursor": "garbage!"},
            {"limit": 0},
            {"limit": 1000},
            {"status": "broken"},
            {"warranty_before": "yesterday"},
            {"sort": "price"},
            {"municipality": "12"},
        ],
    )
    async def test_bad_query_is_422_problem(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        params: dict[str, Any],
    ) -> None:
        r = await client.get(DEVICES, params=params, headers=bearer(tokens.riga))
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"


class TestIdempotency:
    async def test_same_key_replays_and_creates_once(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        headers = {**bearer(tokens.riga_client), "Idempotency-Key": "delivery-42-row-1"}
        first = await client.post(DEVICES, json=device_body("SN-I", "T-I"), headers=headers)
        second = await client.post(DEVICES, json=device_body("SN-I", "T-I"), headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert await count(settings, OutboxMessage) == 1

    async def test_same_key_other_body_is_refused(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        headers = {**bearer(tokens.riga_client), "Idempotency-Key": "k-1"}
        await client.post(DEVICES, json=device_body("SN-I", "T-I"), headers=headers)
        r = await client.post(DEVICES, json=device_body("SN-J", "T-J"), headers=headers)
        problem(r, 422, "idempotency-key-reused")

    async def test_keys_are_per_caller(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
    ) -> None:
        key = {"Idempotency-Key": "shared-key"}
        a = await client.post(
            DEVICES, json=device_body("SN-A", "T-A"), headers={**bearer(tokens.riga_client), **key}
        )
        b = await client.post(
            DEVICES, json=device_body("SN-B", "T-B"), headers={**bearer(tokens.riga), **key}
        )
        assert a.status_code == b.status_code == 201


class TestIdempotencyKeyFormat:
    @pytest.mark.parametrize("key", ["with space", "x" * 201, "tab\tkey"])
    async def test_malformed_key_is_422(
        self, client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any], key: str
    ) -> None:
        r = await client.post(
            DEVICES,
            json=device_body("SN-K", "T-K"),
            headers={**bearer(tokens.riga), "Idempotency-Key": key},
        )
        assert problem(r, 422, "validation")["errors"][0]["field"] == "idempotency-key"


class TestBadUpdates:
    @pytest.mark.parametrize(
        "body",
        [
            {"colour": "red"},
            {"purchase_price": "-1"},
            {"condition": "shiny"},
            {"institution_registration_number": "x"},
            {"extra_warranty_months": 999},
        ],
    )
    async def test_bad_patch_is_422_and_changes_nothing(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        device: dict[str, Any],
        body: dict[str, Any],
    ) -> None:
        url = f"{DEVICES}/{device['id']}"
        r = await client.patch(url, json=body, headers=bearer(tokens.riga))
        problem(r, 422, "validation")
        assert (await client.get(url, headers=bearer(tokens.riga))).json()["version"] == 1

    @pytest.mark.parametrize("body", [{"to": "sold"}, {}, {"to": "available", "extra": 1}])
    async def test_bad_transition_is_422(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        device: dict[str, Any],
        body: dict[str, Any],
    ) -> None:
        r = await client.post(
            f"{DEVICES}/{device['id']}/transitions", json=body, headers=bearer(tokens.riga)
        )
        problem(r, 422, "validation")

    async def test_unknown_institution_on_patch_is_404(
        self, client: httpx.AsyncClient, tokens: Tokens, device: dict[str, Any]
    ) -> None:
        r = await client.patch(
            f"{DEVICES}/{device['id']}",
            json={"institution_registration_number": "99999999"},
            headers=bearer(tokens.riga),
        )
        problem(r, 404, "institution-not-found")
