"""Consumers through the real broker: the inventory's device events and the contracts' loans fill
the read models, and a damaged return opens a ticket by itself, once. Test events are built as
their producers publish them and checked against the committed contracts first."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kit.events import CloudEvent
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer
from shared_kit.testing.kafka import events_of, eventually, publish, read_topic
from tickets_service.config import TicketsSettings
from tickets_service.main import create_app

from .conftest import (
    API,
    CHILD,
    GUARDIAN,
    SCHOOL_A,
    Tokens,
    contract_event,
    device_event,
    snapshot,
    sql,
)

CONTRACTS = Path(__file__).parents[3] / "contracts"


def checked(evt: CloudEvent) -> CloudEvent:
    """The event, after checking its data against the committed schema of its type."""
    schema = json.loads((CONTRACTS / "events" / f"{evt.type}.json").read_text())
    Draft202012Validator(schema).validate(evt.data)
    return evt


@pytest.fixture
async def live(settings: TicketsSettings, clock: TestClock) -> AsyncIterator[httpx.AsyncClient]:
    """Tickets with its consumer, outbox relay and SLA job running."""
    live_settings = settings.model_copy(update={"run_background_workers": True})
    async with running_app(create_app(live_settings, clock)) as client:
        yield client


async def tickets_of(client: httpx.AsyncClient, tokens: Tokens) -> list[dict[str, Any]]:
    """Every ticket, as the platform administrator sees them."""
    r = await client.get(API, headers=bearer(tokens.platform))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def returned(contract_id: str, device_id: str, condition: str, **extra: Any) -> CloudEvent:
    """A `contract.returned` event."""
    fields = {"condition": condition, "notes": None, "photo_ids": [], **extra}
    return checked(
        contract_event("returned", contract_id=contract_id, device_id=device_id, **fields)
    )


class TestFromTheBroker:
    async def test_damaged_return_opens_a_ticket_once_and_loans_drive_access(
        self,
        live: httpx.AsyncClient,
        tokens: Tokens,
        settings: TicketsSettings,
        engine: AsyncEngine,
    ) -> None:
        bootstrap = settings.kafka_bootstrap_servers
        damaged_device, damaged_contract = str(uuid.uuid4()), str(uuid.uuid4())
        short_device, short_contract = str(uuid.uuid4()), str(uuid.uuid4())
        fine_device, fine_contract = str(uuid.uuid4()), str(uuid.uuid4())
        photo = str(uuid.uuid4())
        await publish(
            bootstrap,
            settings.inventory_topic,
            *(
                checked(device_event(snapshot(d, tag=f"RIX-{i}")))
                for i, d in enumerate((damaged_device, short_device, fine_device))
            ),
        )
        activations = [
            checked(contract_event("activated", contract_id=c, device_id=d))
            for c, d in (
                (damaged_contract, damaged_device),
                (short_contract, short_device),
                (fine_contract, fine_device),
            )
        ]
        await publish(bootstrap, settings.contracts_topic, *activations)

        # The loan gives the guardian a relation to the device: they may report for it.
        body = {"device_id": fine_device, "category": "software", "description": "Slow"}

        async def guardian_may_report() -> bool:
            r = await live.post(API, json=body, headers=bearer(tokens.guardian))
            return r.status_code == 201

        await eventually(guardian_may_report)

        damaged = returned(
            damaged_contract, damaged_device, "damaged", notes="Cracked hinge", photo_ids=[photo]
        )
        replayed = returned(damaged_contract, damaged_device, "damaged")  # another route
        fine_return = returned(fine_contract, fine_device, "good")
        await publish(
            bootstrap,
            settings.contracts_topic,
            damaged,
            damaged,  # redelivered
            replayed,
            returned(short_contract, short_device, "accessories_missing"),
            fine_return,
        )

        async def opened() -> list[dict[str, Any]] | None:
            found = [t for t in await tickets_of(live, tokens) if t["source"] == "contract_return"]
            return found if len(found) == 2 else None

        auto = {t["device_id"]: t for t in await eventually(opened)}
        ticket = auto[damaged_device]
        assert ticket["category"] == "damage" and ticket["severity"] == "high"
        assert ticket["repair"] is True and ticket["state"] == "new"
        assert ticket["repair_started_at"] is not None  # the device is in repair since its return
        assert ticket["reporter_kind"] == "institution"
        assert ticket["reporter_id"] == f"institution:{SCHOOL_A}"
        assert ticket["contract_id"] == damaged_contract and ticket["learner_id"] == CHILD
        assert ticket["return_photo_ids"] == [photo]
        assert "Cracked hinge" in ticket["description"] and ticket["asset_tag"] == "RIX-0"
        assert auto[short_device]["category"] == "accessory_missing"
        assert auto[short_device]["repair"] is False

        # The loans ended with the returns: the guardian's relation is gone. Events of other
        # contracts are applied side by side, so wait until the fine loan's return is applied.
        async def fine_return_applied() -> bool:
            query = "SELECT 1 FROM inbox_message WHERE event_id = :id"
            return bool(await sql(engine, query, id=str(fine_return.id)))

        await eventually(fine_return_applied)
        r = await live.post(API, json=body, headers=bearer(tokens.guardian))
        assert r.status_code == 403, r.text
        # School staff work with the institution's tickets.
        r = await live.get(f"{API}/{ticket['id']}", headers=bearer(tokens.school_a))
        assert r.status_code == 200

        records = await read_topic(bootstrap, settings.events_topic, at_least=4)
        opened_events = [e for e in events_of(records) if e.type.endswith("ticket.opened.v1")]
        assert sorted(e.data["source"] for e in opened_events) == [
            "api",
            "contract_return",
            "contract_return",
        ]
        assert all(
            e.source == "/datori/tickets" and e.municipality == "0010000" for e in opened_events
        )
        started = [e for e in events_of(records) if e.type.endswith("repair.started.v1")]
        assert [(e.subject, e.data["ticket_id"]) for e in started] == [
            (damaged_device, ticket["id"])
        ]
        # The guardian is named only as the reporting person (notifications tell them), and a
        # ticket opened by a return names no reporting person.
        assert sorted((e.data["source"], e.data["reporter_id"] or "") for e in opened_events) == [
            ("api", GUARDIAN),
            ("contract_return", ""),
            ("contract_return", ""),
        ]
        returns = [e.data for e in opened_events if e.data["source"] == "contract_return"]
        assert GUARDIAN not in json.dumps(returns)

    async def test_an_unreadable_event_is_dead_lettered_and_the_rest_flows(
        self, live: httpx.AsyncClient, tokens: Tokens, settings: TicketsSettings
    ) -> None:
        bad = CloudEvent(
            type="lv.datori.inventory.device.registered.v1",
            source="/datori/inventory",
            subject="x",
            data={"device": {"device_id": "not-a-uuid"}},
        )
        device = str(uuid.uuid4())
        good = checked(device_event(snapshot(device, status="available")))
        await publish(settings.kafka_bootstrap_servers, settings.inventory_topic, bad, good)
        body = {"device_id": device, "category": "keyboard", "description": "Sticky keys"}

        async def staff_may_report() -> bool:
            r = await live.post(API, json=body, headers=bearer(tokens.teacher_a))
            return r.status_code == 201

        await eventually(staff_may_report)
        r = await live.get(f"{API}/ops/dead-letters", headers=bearer(tokens.platform))
        assert [d["event_id"] for d in r.json()["items"]] == [bad.id]
