"""Consumers through the real broker: inventory device events build the read model and move
allocations; contract events fulfil reservations and free devices; our events go out through
the outbox with CloudEvents headers. Test events are built as the producers publish them and
checked against the committed contracts first."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from reservations_service.config import ReservationsSettings
from reservations_service.main import create_app
from shared_kit.events import CloudEvent
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer
from shared_kit.testing.kafka import events_of, eventually, publish, read_topic

from .conftest import API, CHILD, RIGA, SCHOOL_A, Tokens, reserve, snapshot_event

CONTRACTS = Path(__file__).parents[3] / "contracts"


def checked(evt: CloudEvent) -> CloudEvent:
    """The event, after checking its data against the committed schema of its type."""
    schema = json.loads((CONTRACTS / "events" / f"{evt.type}.json").read_text())
    Draft202012Validator(schema).validate(evt.data)
    return evt


def device_event(kind: str, snapshot: dict[str, Any], **extra: Any) -> CloudEvent:
    """An inventory device event carrying the full snapshot."""
    return checked(
        CloudEvent(
            type=f"lv.datori.inventory.device.{kind}.v1",
            source="/datori/inventory",
            subject=snapshot["device_id"],
            data={"device": snapshot, **extra},
            municipality=snapshot["municipality_code"],
        )
    )


def status_event(snapshot: dict[str, Any], before: str) -> CloudEvent:
    """`device.status_changed` from `before` to the snapshot's status."""
    return device_event(
        "status_changed", snapshot, from_status=before, to_status=snapshot["status"], reason=None
    )


CONTRACT_STATES = {"activated": "active", "returned": "returned", "expired": "expired"}


def contract_event(
    kind: str, reservation: dict[str, Any], device_id: str, at: str, **extra: Any
) -> CloudEvent:
    """A contracts event as the contracts service publishes it, for a reservation."""
    data = {
        "contract_id": str(uuid.uuid4()),
        "number": "RIX-2026-000001",
        "reservation_id": reservation["id"],
        "device_id": device_id,
        "municipality_code": RIGA,
        "institution_number": reservation["institution_number"],
        "learner_id": reservation["learner_id"],
        "borrower_id": str(uuid.uuid4()),
        "state": CONTRACT_STATES[kind],
        "period_start": reservation["start"],
        "period_end": reservation["end"],
        "document_version": 1,
        "document_sha256": "0" * 64,
        f"{kind}_at": at,
        **extra,
    }
    return checked(
        CloudEvent(
            type=f"lv.datori.contracts.contract.{kind}.v1",
            source="/datori/contracts",
            subject=data["contract_id"],
            data=data,
            municipality=RIGA,
        )
    )


@pytest.fixture
async def live(
    settings: ReservationsSettings, clock: TestClock
) -> AsyncIterator[httpx.AsyncClient]:
    """Reservations with their consumer, outbox relay and housekeeping running."""
    live_settings = settings.model_copy(update={"run_background_workers": True})
    async with running_app(create_app(live_settings, clock)) as client:
        yield client


async def get(client: httpx.AsyncClient, tokens: Tokens, reservation_id: str) -> dict[str, Any]:
    """A reservation as the platform admin sees it."""
    r = await client.get(f"{API}/{reservation_id}", headers=bearer(tokens.platform))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def free_count(client: httpx.AsyncClient, tokens: Tokens) -> int:
    """Free devices at school A now (-1 while the school is unknown)."""
    r = await client.get(
        f"{API}/availability", params={"institution_number": SCHOOL_A}, headers=bearer(tokens.riga)
    )
    return int(r.json()["free"]) if r.status_code == 200 else -1


class TestInventoryEvents:
    async def test_devices_arrive_leave_and_come_back(
        self, live: httpx.AsyncClient, tokens: Tokens, settings: ReservationsSettings
    ) -> None:
        bootstrap, topic = settings.kafka_bootstrap_servers, settings.inventory_topic
        first = snapshot_event(str(uuid.uuid4()), 1, status="in_stock")
        available = {**first, "version": 2, "status": "available"}
        await publish(
            bootstrap,
            topic,
            device_event("registered", first),
            status_event(available, "in_stock"),
            status_event(available, "in_stock"),  # redelivered by another route: no effect
        )
        await eventually(lambda: _equals(free_count(live, tokens), 1))

        holder = await reserve(live, tokens.guardian)
        assert holder["device_id"] == first["device_id"]
        waiting = await reserve(live, tokens.school_a, learner="l-next")

        # an older snapshot arriving late changes nothing; a theft takes the device away
        stale = device_event("updated", {**first, "version": 1}, changed_fields=["notes"])
        stolen = {**first, "version": 3, "status": "stolen"}
        await publish(bootstrap, topic, stale, status_event(stolen, "reserved"))
        back = await eventually(lambda: _in_state(live, tokens, holder["id"], "waitlisted"))
        assert back["waitlist_position"] == 1 and back["device_id"] is None

        # another school's device is moved here: the first in line gets it
        second = snapshot_event(str(uuid.uuid4()), 4, institution="3113900002")
        moved = {**second, "version": 5, "institution_registration_number": SCHOOL_A}
        await publish(
            bootstrap,
            topic,
            device_event("registered", second),
            device_event("assigned", moved, from_institution="3113900002", to_institution=SCHOOL_A),
        )
        offered = await eventually(lambda: _in_state(live, tokens, holder["id"], "approved"))
        assert offered["device_id"] == second["device_id"]
        assert (await get(live, tokens, waiting["id"]))["state"] == "waitlisted"

        records = await read_topic(bootstrap, settings.events_topic, at_least=8)
        mine = [e for e in events_of(records) if e.subject == holder["id"]]
        assert [e.type.split(".")[-2] for e in mine] == [
            "requested",
            "approved",
            "device_withdrawn",  # the device was stolen before pickup
            "waitlisted",
            "offered",  # the moved device, offered from the waitlist
            "approved",
        ]
        assert mine[-1].data["device_id"] == second["device_id"]
        assert all(e.source == "/datori/reservations" and e.municipality == RIGA for e in mine)
        assert all(e.data["learner_id"] == CHILD for e in mine)

    async def test_an_unreadable_event_is_dead_lettered_and_the_rest_flows(
        self, live: httpx.AsyncClient, tokens: Tokens, settings: ReservationsSettings
    ) -> None:
        bad = CloudEvent(
            type="lv.datori.inventory.device.registered.v1",
            source="/datori/inventory",
            subject="x",
            data={"device": {"device_id": "not-a-uuid"}},
        )
        good = snapshot_event(str(uuid.uuid4()), 1)
        await publish(
            settings.kafka_bootstrap_servers,
            settings.inventory_topic,
            bad,
            device_event("registered", good),
        )
        await eventually(lambda: _equals(free_count(live, tokens), 1))
        r = await live.get(f"{API}/ops/dead-letters", headers=bearer(tokens.platform))
        assert [d["event_id"] for d in r.json()["items"]] == [bad.id]


class TestContractEvents:
    async def test_loan_round_trip_hands_the_device_to_the_next_in_line(
        self,
        live: httpx.AsyncClient,
        tokens: Tokens,
        settings: ReservationsSettings,
        clock: TestClock,
    ) -> None:
        bootstrap = settings.kafka_bootstrap_servers
        inventory, contracts = settings.inventory_topic, settings.contracts_topic
        laptop = snapshot_event(str(uuid.uuid4()), 1)
        device_id = laptop["device_id"]
        await publish(bootstrap, inventory, device_event("registered", laptop))
        await eventually(lambda: _equals(free_count(live, tokens), 1))
        holder = await reserve(live, tokens.guardian)
        waiting = await reserve(live, tokens.school_a, learner="l-next")

        # as the inventory reacts: reserved on approval, on loan once the contract is active
        reserved = {**laptop, "version": 2, "status": "reserved"}
        on_loan = {**laptop, "version": 3, "status": "on_loan"}
        await publish(bootstrap, inventory, status_event(reserved, "available"))
        activated = contract_event("activated", holder, device_id, clock.now.isoformat())
        await publish(bootstrap, contracts, activated)
        await publish(bootstrap, inventory, status_event(on_loan, "reserved"))
        await eventually(lambda: _in_state(live, tokens, holder["id"], "fulfilled"))

        # returned: the loan ends now, but the device is lent again only once it is back
        await publish(
            bootstrap,
            contracts,
            contract_event(
                "returned",
                holder,
                device_id,
                clock.advance(days=20).isoformat(),
                condition="good",
                notes=None,
                photo_ids=[],
            ),
        )
        ended = await eventually(lambda: _ended(live, tokens, holder["id"]))
        assert ended["state"] == "fulfilled"
        assert (await get(live, tokens, waiting["id"]))["state"] == "waitlisted"
        back = {**laptop, "version": 4, "status": "available"}
        await publish(bootstrap, inventory, status_event(back, "on_loan"))
        offered = await eventually(lambda: _in_state(live, tokens, waiting["id"], "approved"))
        assert offered["device_id"] == device_id

        # a contract event for a reservation this service does not know is ignored
        stranger = {**holder, "id": str(uuid.uuid4())}
        await publish(
            bootstrap,
            contracts,
            contract_event("expired", stranger, device_id, clock.now.isoformat()),
        )
        records = await read_topic(bootstrap, settings.events_topic, at_least=7)
        kinds = [e.type.split(".")[-2] for e in events_of(records) if e.subject == waiting["id"]]
        assert kinds == ["requested", "waitlisted", "offered", "approved"]
        fulfilled = [e for e in events_of(records) if e.type.endswith("fulfilled.v1")]
        assert [e.data["device_id"] for e in fulfilled] == [device_id]
        r = await live.get(f"{API}/ops/dead-letters", headers=bearer(tokens.platform))
        assert r.json()["items"] == []


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def _in_state(
    client: httpx.AsyncClient, tokens: Tokens, reservation_id: str, state: str
) -> dict[str, Any] | None:
    current = await get(client, tokens, reservation_id)
    return current if current["state"] == state else None


async def _ended(
    client: httpx.AsyncClient, tokens: Tokens, reservation_id: str
) -> dict[str, Any] | None:
    current = await get(client, tokens, reservation_id)
    return current if current["end"] < "2027-05-31T21:00:00Z" else None
