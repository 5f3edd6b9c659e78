"""The device round trip through the real broker, with the real inventory service running beside
tickets (each with its own database, relay and consumers, sharing this test's topics): a loan
puts the device on loan in both; a repair ticket in progress sends it to `in_repair` in the
inventory; resolving it brings it back on loan; both changes come back to tickets' read model.
The inventory runs in-process here only as a test fixture, as the cross-service tests do."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

import inventory_service.main
from inventory_service.config import InventorySettings
from shared_kit.testing.client import running_app
from shared_kit.testing.kafka import eventually, publish
from shared_kit.testing.tokens import JWKSServer, TokenIssuer
from tickets_service.config import TicketsSettings
from tickets_service.main import create_app

from .conftest import API, RIGA, SCHOOL_A, TestClock, Tokens, bearer, contract_event

INVENTORY = "/api/v1/inventory"


@pytest.fixture
async def tickets(settings: TicketsSettings, clock: TestClock) -> AsyncIterator[httpx.AsyncClient]:
    """Tickets with relay, consumer and SLA job running."""
    live = settings.model_copy(update={"run_background_workers": True})
    async with running_app(create_app(live, clock)) as client:
        yield client


@pytest.fixture
async def inventory(
    make_database: Callable[..., Any],
    jwks_server: JWKSServer,
    settings: TicketsSettings,
    unique: str,
) -> AsyncIterator[httpx.AsyncClient]:
    """The real inventory, reading and writing this test's topics."""
    inventory_settings = InventorySettings(
        environment="test",
        database_url=await make_database(inventory_service.main.MIGRATIONS),
        jwks_url=jwks_server.jwks_url,
        jwks_min_refresh_s=0,
        kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
        events_topic=settings.inventory_topic,
        contracts_topic=settings.contracts_topic,
        tickets_topic=settings.events_topic,
        reservations_topic=f"reservations.events.{unique}",
        consumer_group=f"inventory.{unique}",
        log_json=False,
        outbox_poll_interval_s=0.05,
        consumer_session_timeout_ms=3000,
        kafka_topic_partitions=3,
    )
    async with running_app(inventory_service.main.create_app(inventory_settings)) as client:
        yield client


async def seed_device(client: httpx.AsyncClient, admin: str) -> str:
    """Rīga, school A, a laptop item with a warranty, and one available laptop there."""
    records = [
        ("/municipalities", {"code": RIGA, "name": "Rīgas valstspilsēta"}),
        ("/institutions", {"registration_number": SCHOOL_A, "name": "Rīgas 1. pamatskola",
                           "municipality_code": RIGA}),
        ("/catalogue-items", {"code": "LAPTOP-14", "name": "Laptop 14", "manufacturer": "Lenovo",
                              "model": "ThinkPad E14", "category": "laptop", "os": "windows",
                              "screen_inches": "14.0", "touch": False,
                              "base_warranty_months": 36}),
    ]  # fmt: skip
    for path, body in records:
        r = await client.post(f"{INVENTORY}{path}", json=body, headers=bearer(admin))
        assert r.status_code == 201, r.text
    body = {
        "serial_number": "SN-R1", "asset_tag": "RIX-R1", "catalogue_item_code": "LAPTOP-14",
        "municipality_code": RIGA, "institution_registration_number": SCHOOL_A,
        "funding_source": "recovery_fund", "status": "available",
        "delivery_date": "2025-09-01", "insured_until": "2027-08-31",
    }  # fmt: skip
    r = await client.post(f"{INVENTORY}/devices", json=body, headers=bearer(admin))
    assert r.status_code == 201, r.text
    device = r.json()
    if device["status"] != "available":
        r = await client.post(
            f"{INVENTORY}/devices/{device['id']}/transitions",
            json={"to": "available"},
            headers=bearer(admin),
        )
        assert r.status_code == 200, r.text
    return str(device["id"])


async def test_repair_takes_the_device_in_and_brings_it_back_on_loan(
    tickets: httpx.AsyncClient,
    inventory: httpx.AsyncClient,
    tokens: Tokens,
    token_issuer: TokenIssuer,
    settings: TicketsSettings,
) -> None:
    inventory_admin = token_issuer.mint(roles=["platform_admin"], audience="inventory")
    device = await seed_device(inventory, inventory_admin)

    async def inventory_status(status: str) -> bool:
        r = await inventory.get(f"{INVENTORY}/devices/{device}", headers=bearer(inventory_admin))
        return r.status_code == 200 and r.json()["status"] == status

    # The contract becomes active: the inventory lends the device, tickets learns the loan.
    activated = contract_event("activated", contract_id=str(uuid.uuid4()), device_id=device)
    await publish(settings.kafka_bootstrap_servers, settings.contracts_topic, activated)
    await eventually(lambda: inventory_status("on_loan"))

    async def reported() -> dict[str, Any] | None:
        body = {"asset_tag": "RIX-R1", "category": "does_not_start", "description": "Dead"}
        r = await tickets.post(API, json=body, headers=bearer(tokens.guardian))
        return dict(r.json()) if r.status_code == 201 else None

    ticket = await eventually(reported)
    assert ticket["device_id"] == device and ticket["repair"] is True
    assert ticket["warranty_claim"] is True  # 36 months from the delivery
    assert ticket["device"]["insured"] is True

    async def tickets_sees(status: str) -> bool:
        r = await tickets.get(f"{API}/{ticket['id']}", headers=bearer(tokens.technician))
        return r.status_code == 200 and (r.json()["device"] or {}).get("status") == status

    await eventually(lambda: tickets_sees("on_loan"))

    r = await tickets.post(
        f"{API}/{ticket['id']}/transitions",
        json={"to": "in_progress"},
        headers=bearer(tokens.technician),
    )
    assert r.status_code == 200, r.text
    await eventually(lambda: inventory_status("in_repair"))
    await eventually(lambda: tickets_sees("in_repair"))

    r = await tickets.post(
        f"{API}/{ticket['id']}/transitions",
        json={"to": "resolved", "resolution": "Battery replaced under warranty"},
        headers=bearer(tokens.technician),
    )
    assert r.status_code == 200, r.text
    await eventually(lambda: inventory_status("on_loan"))
    await eventually(lambda: tickets_sees("on_loan"))
    # The inventory's history names what moved the device.
    r = await inventory.get(
        f"{INVENTORY}/devices/{device}/history", headers=bearer(inventory_admin)
    )
    reasons = [entry["reason"] for entry in r.json()["items"]]
    assert reasons[-2:] == [
        "lv.datori.tickets.repair.started.v1",
        "lv.datori.tickets.repair.completed.v1",
    ]
