"""A loan across the services, through the real broker, each service running with its relay
and consumers (and the broker stopping mid-journey): the inventory's device events fill the reservations read model; an approval
reserves the device in the inventory and drafts a contract (the borrower's name and personal
code from the real gateway); both signatures activate it, which puts the device on loan and
fulfils the reservation; a reported problem leaves the device on loan until the technician
takes it in (a ticket with no fault found never moves it), the repair brings it back on loan;
the return brings the device back.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared_kit.testing.database import scalar
from shared_kit.testing.gateway import Gateway
from shared_kit.testing.http import bearer
from shared_kit.testing.kafka import eventually, group_lag
from shared_kit.testing.tokens import TokenIssuer

pytestmark = pytest.mark.slow

INVENTORY = "/api/v1/inventory"
RESERVATIONS = "/api/v1/reservations"
RIGA = "0010000"
SCHOOL = "3113900101"  # the VIIS stand-in's demo school of the demo guardian's children
CONTRACTS = "/api/v1/contracts"
TICKETS = "/api/v1/tickets"
CHILD = "learner-0001"


async def seed_devices(client: httpx.AsyncClient, admin: str, count: int) -> list[str]:
    """Rīga, one school, one Chromebook item and `count` available devices at the school."""
    records = [
        ("/municipalities", {"code": RIGA, "name": "Rīgas valstspilsēta"}),
        ("/institutions", {"registration_number": SCHOOL, "name": "Rīgas 1. pamatskola",
                           "municipality_code": RIGA}),
        ("/catalogue-items", {"code": "CB-116", "name": "Chromebook 11.6", "manufacturer": "Acer",
                              "model": "Spin 311", "category": "chromebook", "os": "chromeos",
                              "screen_inches": "11.6", "touch": True, "base_warranty_months": 36}),
    ]  # fmt: skip
    for path, body in records:
        r = await client.post(f"{INVENTORY}{path}", json=body, headers=bearer(admin))
        assert r.status_code == 201, r.text
    ids = []
    for i in range(count):
        body = {
            "serial_number": f"SN-X{i}", "asset_tag": f"RIX-X{i}", "catalogue_item_code": "CB-116",
            "municipality_code": RIGA, "institution_registration_number": SCHOOL,
            "funding_source": "recovery_fund", "status": "available",
        }  # fmt: skip
        r = await client.post(f"{INVENTORY}/devices", json=body, headers=bearer(admin))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        if r.json()["status"] != "available":
            t = await client.post(
                f"{INVENTORY}/devices/{ids[-1]}/transitions",
                json={"to": "available"},
                headers=bearer(admin),
            )
            assert t.status_code == 200, t.text
    return ids


async def status_is(client: httpx.AsyncClient, token: str, device_id: str, status: str) -> bool:
    """Whether the inventory shows the device in that status."""
    r = await client.get(f"{INVENTORY}/devices/{device_id}", headers=bearer(token))
    return r.status_code == 200 and r.json()["status"] == status


async def status_changes(
    client: httpx.AsyncClient, token: str, device_id: str
) -> list[tuple[str, str]]:
    """The device's status changes in the inventory's history, oldest first."""
    r = await client.get(f"{INVENTORY}/devices/{device_id}/history", headers=bearer(token))
    assert r.status_code == 200, r.text
    changes = [h["changes"]["status"] for h in r.json()["items"] if "status" in h["changes"]]
    return [(before, after) for before, after in changes]


async def free_devices(client: httpx.AsyncClient, token: str) -> int | None:
    """Free Chromebooks at the school now, as the reservations service sees them (None while
    it has not heard of the school)."""
    r = await client.get(
        f"{RESERVATIONS}/availability",
        params={"institution_number": SCHOOL, "category": "chromebook"},
        headers=bearer(token),
    )
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return int(r.json()["free"])


async def test_reservation_moves_the_device_and_inventory_changes_availability(
    inventory: httpx.AsyncClient, reservations: httpx.AsyncClient, token_issuer: TokenIssuer
) -> None:
    admin = token_issuer.mint(roles=["platform_admin"])
    guardian = token_issuer.mint(roles=["guardian"], learners=[CHILD])
    devices = await seed_devices(inventory, admin, 2)

    # The inventory's events reach the reservations read model.
    await eventually(lambda: _equals(free_devices(reservations, admin), 2))

    body = {"learner_id": CHILD, "institution_number": SCHOOL,
            "criteria": {"category": "chromebook"}}  # fmt: skip
    r = await reservations.post(RESERVATIONS, json=body, headers=bearer(guardian))
    assert r.status_code == 201, r.text
    reservation = r.json()
    assert reservation["state"] == "approved"  # the default policy approves at once
    device = reservation["device_id"]
    assert device in devices

    # The approval reaches the inventory: the device is reserved there.
    await eventually(lambda: status_is(inventory, admin, device, "reserved"))
    assert await free_devices(reservations, admin) == 1

    # A repair in the inventory takes the other device out of the pool.
    other = next(d for d in devices if d != device)
    r = await inventory.post(
        f"{INVENTORY}/devices/{other}/transitions", json={"to": "in_repair"}, headers=bearer(admin)
    )
    assert r.status_code == 200, r.text
    await eventually(lambda: _equals(free_devices(reservations, admin), 0))

    # The cancellation releases the device in the inventory and in the read model.
    r = await reservations.post(
        f"{RESERVATIONS}/{reservation['id']}/cancel", json={}, headers=bearer(guardian)
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "cancelled"
    await eventually(lambda: status_is(inventory, admin, device, "available"))
    assert await free_devices(reservations, admin) == 1


async def _equals(value: Any, expected: int) -> bool:
    return bool(await value == expected)


async def contract_of(client: httpx.AsyncClient, token: str, reservation_id: str) -> Any:
    """The contract drafted for a reservation, once there is one (else None)."""
    r = await client.get(CONTRACTS, headers=bearer(token))
    assert r.status_code == 200, r.text
    found = [c for c in r.json()["items"] if c["reservation_id"] == reservation_id]
    return found[0] if found else None


async def state_is(client: httpx.AsyncClient, path: str, token: str, state: str) -> bool:
    """Whether the resource at `path` is in that state."""
    r = await client.get(path, headers=bearer(token))
    return r.status_code == 200 and r.json()["state"] == state


async def sign(
    client: httpx.AsyncClient, contract_id: str, token: str, action: str
) -> httpx.Response:
    """Sign (`sign`) or countersign the contract's current version, named by its SHA-256."""
    docs = await client.get(f"{CONTRACTS}/{contract_id}/documents", headers=bearer(token))
    assert docs.status_code == 200, docs.text
    body = {"document_sha256": docs.json()[-1]["sha256"], "consent_version": "2026.1"}
    return await client.post(
        f"{CONTRACTS}/{contract_id}/{action}", json=body, headers=bearer(token)
    )


async def test_a_loan_from_reservation_to_return(
    inventory: httpx.AsyncClient,
    reservations: httpx.AsyncClient,
    contracts: httpx.AsyncClient,
    tickets: httpx.AsyncClient,
    gateway: Gateway,
    token_issuer: TokenIssuer,
) -> None:
    admin = token_issuer.mint(roles=["platform_admin"])
    # The guardian logged in once (so the gateway knows her name and personal code); her
    # token for signing is a strong, recent Latvija.lv login.
    person = await gateway.login("guardian")
    guardian = token_issuer.mint(
        person["sub"], roles=["guardian"], learners=person["learners"],
        idp="latvija", amr=["eparaksts"], auth_time=int(time.time()),
    )  # fmt: skip
    school_admin = token_issuer.mint(
        str(uuid.uuid4()), roles=["institution_admin"], institutions=[SCHOOL]
    )
    (device,) = await seed_devices(inventory, admin, 1)
    lender = {"kind": "institution", "code": SCHOOL, "municipality_code": RIGA,
              "name": "Rīgas Demo 1. pamatskola", "registration_number": SCHOOL,
              "address": "Skolas iela 1, Rīga, LV-1010", "representative": "direktors"}  # fmt: skip
    r = await contracts.post(f"{CONTRACTS}/lenders", json=lender, headers=bearer(admin))
    assert r.status_code == 201, r.text
    await eventually(lambda: _equals(free_devices(reservations, admin), 1))

    body = {"learner_id": person["learners"][0], "institution_number": SCHOOL}
    r = await reservations.post(RESERVATIONS, json=body, headers=bearer(guardian))
    assert r.status_code == 201, r.text
    reservation = r.json()
    assert reservation["state"] == "approved" and reservation["device_id"] == device

    # reservation.approved → the inventory reserves the device, contracts drafts the loan.
    await eventually(lambda: status_is(inventory, admin, device, "reserved"))
    await eventually(lambda: contract_of(contracts, guardian, reservation["id"]), timeout_s=30)
    contract = await contract_of(contracts, guardian, reservation["id"])
    assert contract["device_id"] == device

    r = await sign(contracts, contract["id"], guardian, "sign")
    assert r.status_code == 200, r.text
    r = await sign(contracts, contract["id"], school_admin, "countersign")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "active"

    # contract.activated → on loan in the inventory, fulfilled in reservations.
    await eventually(lambda: status_is(inventory, admin, device, "on_loan"))
    path = f"{RESERVATIONS}/{reservation['id']}"
    await eventually(lambda: state_is(reservations, path, guardian, "fulfilled"))

    # Reporting a broken screen leaves the device with the child; a technician who looks at
    # it and finds no fault never touches it; taking the device in moves it to repair and
    # resolving brings it back on loan (tickets ↔ inventory).
    technician = token_issuer.mint(roles=["technician"], municipalities=[RIGA])
    report = {"device_id": device, "category": "screen", "description": "Ekrāns mirgo"}

    async def reported() -> Any:
        r = await tickets.post(TICKETS, json=report, headers=bearer(guardian))
        return r.json() if r.status_code == 201 else None  # once tickets knows the loan

    async def move(ticket: dict[str, Any], to: str, **body: str) -> None:
        r = await tickets.post(f"{TICKETS}/{ticket['id']}/transitions", json={"to": to, **body},
                               headers=bearer(technician))  # fmt: skip
        assert r.status_code == 200, r.text

    no_fault = await eventually(reported)
    assert no_fault["repair"] is True  # a screen likely needs the workshop, but is not there
    await move(no_fault, "in_progress")
    await move(no_fault, "resolved", resolution="no fault found")
    ticket = await eventually(reported)
    await move(ticket, "in_progress")
    await move(ticket, "in_repair")
    await eventually(lambda: status_is(inventory, admin, device, "in_repair"))
    # A device's effects ride one partition in order: by now the inventory has seen whatever
    # the first ticket and the second's report and `in_progress` sent. Nothing moved it before.
    changes = await status_changes(inventory, admin, device)
    assert changes[-2:] == [("reserved", "on_loan"), ("on_loan", "in_repair")]
    await move(ticket, "resolved", resolution="Ekrāns nomainīts")
    await eventually(lambda: status_is(inventory, admin, device, "on_loan"))

    r = await contracts.post(
        f"{CONTRACTS}/{contract['id']}/return",
        data={"condition": "good"},
        headers=bearer(school_admin),
    )
    assert r.status_code in (200, 201), r.text
    await eventually(lambda: status_is(inventory, admin, device, "available"))


@dataclass
class OnOwnBroker:
    """Inventory and reservations on a broker the test stops, and what the test waits for."""

    inventory: httpx.AsyncClient
    reservations: httpx.AsyncClient
    reservations_app: Any
    inventory_settings: Any
    reservations_settings: Any

    async def relay_reached_the_broker(self) -> bool:
        """The reservations relay has a producer on the broker."""
        return bool(self.reservations_app.state.relay.broker_ok)

    async def relay_lost_the_broker(self) -> bool:
        """The reservations relay tried to publish and failed: its events wait in the outbox."""
        return not self.reservations_app.state.relay.broker_ok

    async def unpublished(self) -> int:
        """Events in the reservations outbox that wait for the broker."""
        return int(
            await scalar(
                self.reservations_settings.database_url,
                "select count(*) from outbox_message where published_at is null",
            )
        )

    async def all_consumed(self) -> bool:
        """The reservations outbox is published and the inventory committed past all of it."""
        if await self.unpublished():
            return False
        lag = await group_lag(
            self.inventory_settings.kafka_bootstrap_servers,
            self.inventory_settings.consumer_group,
            self.reservations_settings.events_topic,
        )
        return lag == 0


@pytest.fixture
async def services_on_own_broker(
    make_database: Any,
    jwks_server: Any,
    token_issuer: TokenIssuer,
    own_broker: Any,
    unique: str,
) -> Any:
    """Inventory and reservations (relays and consumers running) on a broker this test stops."""
    import inventory_service.main
    import reservations_service.main
    from inventory_service.config import InventorySettings
    from reservations_service.config import ReservationsSettings
    from shared_kit.testing.client import running_app

    common = {
        "environment": "test", "jwks_url": jwks_server.jwks_url,
        "jwt_audience": token_issuer.audience, "jwks_min_refresh_s": 0,
        "kafka_bootstrap_servers": own_broker.bootstrap, "log_json": False,
        "outbox_poll_interval_s": 0.05, "consumer_session_timeout_ms": 3000,
    }  # fmt: skip
    inventory_settings = InventorySettings(
        **common, database_url=await make_database(inventory_service.main.MIGRATIONS),
        events_topic=f"inventory.events.{unique}", consumer_group=f"inventory.{unique}",
        reservations_topic=f"reservations.events.{unique}",
        contracts_topic=f"contracts.events.{unique}", tickets_topic=f"tickets.events.{unique}",
    )  # fmt: skip
    reservations_settings = ReservationsSettings(
        **common, database_url=await make_database(reservations_service.main.MIGRATIONS),
        events_topic=f"reservations.events.{unique}", consumer_group=f"reservations.{unique}",
        inventory_topic=f"inventory.events.{unique}", contracts_topic=f"contracts.events.{unique}",
        tickets_topic=f"tickets.events.{unique}",
    )  # fmt: skip
    reservations_app = reservations_service.main.create_app(reservations_settings)
    async with (
        running_app(inventory_service.main.create_app(inventory_settings)) as inventory,
        running_app(reservations_app) as reservations,
    ):
        yield OnOwnBroker(
            inventory, reservations, reservations_app, inventory_settings, reservations_settings
        )


async def test_broker_outage_mid_journey_loses_no_event_and_doubles_none(
    services_on_own_broker: Any, own_broker: Any, token_issuer: TokenIssuer
) -> None:
    services: OnOwnBroker = services_on_own_broker
    inventory, reservations = services.inventory, services.reservations
    admin = token_issuer.mint(roles=["platform_admin"])
    guardian = token_issuer.mint(roles=["guardian"], learners=[CHILD])
    (device,) = await seed_devices(inventory, admin, 1)
    await eventually(lambda: _equals(free_devices(reservations, admin), 1))
    await eventually(services.relay_reached_the_broker)

    own_broker.stop()
    body = {"learner_id": CHILD, "institution_number": SCHOOL}
    r = await reservations.post(RESERVATIONS, json=body, headers=bearer(guardian))
    assert r.status_code == 201, r.text  # requests do not need the broker
    reservation = r.json()
    assert reservation["state"] == "approved"
    await eventually(services.relay_lost_the_broker, timeout_s=40)
    assert await services.unpublished() > 0
    assert await status_is(inventory, admin, device, "available")

    own_broker.start()
    await eventually(lambda: status_is(inventory, admin, device, "reserved"), timeout_s=40)
    # Every event is published and consumed: a duplicate, were there one, is applied by now.
    await eventually(services.all_consumed, timeout_s=40)
    r = await inventory.get(f"{INVENTORY}/devices/{device}/history", headers=bearer(admin))
    moves = [h["changes"]["status"] for h in r.json()["items"] if h["action"] == "status_changed"]
    assert moves.count(["available", "reserved"]) == 1, moves  # applied once, not lost
