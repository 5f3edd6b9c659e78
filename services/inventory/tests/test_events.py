"""Events through the real broker: outbox delivery, broker outages, idempotent consumers."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from inventory_service.config import InventorySettings
from inventory_service.main import create_app
from shared_kit.events import CloudEvent
from shared_kit.events.outbox import OutboxMessage
from shared_kit.testing.client import running_app
from shared_kit.testing.http import bearer, problem
from shared_kit.testing.infra import Tansu
from shared_kit.testing.kafka import events_of, eventually, publish, read_topic

from .conftest import Tokens, device_body

DEVICES = "/api/v1/inventory/devices"


@pytest.fixture
async def live(settings: InventorySettings) -> AsyncIterator[httpx.AsyncClient]:
    """The inventory with its outbox relay and consumers running."""
    live_settings = settings.model_copy(update={"run_background_workers": True})
    async with running_app(create_app(live_settings)) as client:
        yield client


async def unpublished(settings: InventorySettings) -> int:
    """Outbox rows not yet on the broker."""
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            stmt = select(func.count()).where(OutboxMessage.published_at.is_(None))
            return int(await conn.scalar(stmt) or 0)
    finally:
        await engine.dispose()


async def register(client: httpx.AsyncClient, tokens: Tokens, n: int) -> list[dict[str, Any]]:
    """Register n devices in Rīga."""
    devices = []
    for i in range(n):
        r = await client.post(
            DEVICES, json=device_body(f"SN-E{i}", f"RIX-E{i}"), headers=bearer(tokens.riga)
        )
        assert r.status_code == 201, r.text
        devices.append(r.json())
    return devices


async def move(client: httpx.AsyncClient, tokens: Tokens, device_id: str, to: str) -> None:
    """Transition a device through the API."""
    r = await client.post(
        f"{DEVICES}/{device_id}/transitions", json={"to": to}, headers=bearer(tokens.riga)
    )
    assert r.status_code == 200, r.text


class TestOutboxDelivery:
    async def test_every_event_arrives_with_cloudevents_headers_in_order(
        self,
        live: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        devices = await register(live, tokens, 3)
        for d in devices:
            for to in ("available", "in_repair", "available", "on_loan"):
                await move(live, tokens, d["id"], to)
        records = await read_topic(
            settings.kafka_bootstrap_servers, settings.events_topic, at_least=15
        )
        assert len(records) == 15  # 3 × (registered + 4 status changes), none twice
        for d in devices:
            mine = [r for r in records if r.key == d["id"].encode()]
            assert len({r.partition for r in mine}) == 1  # one device, one partition
            evts = events_of(mine)
            assert [e.type.split(".")[-2] for e in evts] == ["registered"] + ["status_changed"] * 4
            assert [e.data["device"]["version"] for e in evts] == [1, 2, 3, 4, 5]
            assert [e.data.get("to_status") for e in evts[1:]] == [
                "available",
                "in_repair",
                "available",
                "on_loan",
            ]
            headers = dict(mine[0].headers)
            assert headers["ce_specversion"] == b"1.0"
            assert headers["ce_source"] == b"/datori/inventory"
            assert headers["ce_subject"] == d["id"].encode()
            assert headers["ce_municipality"] == b"0010000"
            assert headers["content-type"] == b"application/json"
            assert b"ce_correlationid" in {k.encode() for k in headers}
        assert await unpublished(settings) == 0

    async def test_events_written_while_broker_is_down_arrive_after_restart(
        self,
        settings: InventorySettings,
        tokens: Tokens,
        own_broker: Tansu,
        seeded: dict[str, Any],
        client: httpx.AsyncClient,
    ) -> None:
        own = settings.model_copy(
            update={
                "kafka_bootstrap_servers": own_broker.bootstrap,
                "run_background_workers": True,
                "kafka_request_timeout_ms": 2000,
            }
        )
        async with running_app(create_app(own)) as live:
            own_broker.stop()
            devices = await register(live, tokens, 4)  # requests still succeed
            assert await unpublished(own) == 4
            ready = await live.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["broker"] == "unreachable"
            restarted = Tansu(port=own_broker.port)
            restarted.start()
            try:
                await eventually(lambda: _none_left(own), timeout_s=30)
                records = await read_topic(restarted.bootstrap, own.events_topic, at_least=4)
            finally:
                restarted.stop()
        ids = sorted(e.subject for e in events_of(records))
        assert ids == sorted(d["id"] for d in devices)  # each exactly once


async def _none_left(settings: InventorySettings) -> bool:
    return await unpublished(settings) == 0


APPROVED = "lv.datori.reservations.reservation.approved.v1"
CANCELLED = "lv.datori.reservations.reservation.cancelled.v1"
EXPIRED = "lv.datori.reservations.reservation.expired.v1"
WITHDRAWN = "lv.datori.reservations.reservation.device_withdrawn.v1"
ACTIVATED = "lv.datori.contracts.contract.activated.v1"
RETURNED = "lv.datori.contracts.contract.returned.v1"
REPAIR_STARTED = "lv.datori.tickets.repair.started.v1"
REPAIR_COMPLETED = "lv.datori.tickets.repair.completed.v1"
R1, R2, R3, R4 = (str(uuid.uuid4()) for _ in range(4))


def event(type_: str, device_id: str, **data: Any) -> CloudEvent:
    """An event as another service would publish it."""
    return CloudEvent(
        type=type_, source="/datori/test", subject=device_id, data={"device_id": device_id, **data}
    )


async def status_of(client: httpx.AsyncClient, tokens: Tokens, device_id: str) -> str:
    """Current status of a device."""
    r = await client.get(f"{DEVICES}/{device_id}", headers=bearer(tokens.riga))
    return str(r.json()["status"])


class TestConsumers:
    async def test_redelivered_event_is_applied_once(
        self,
        live: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        (device,) = await register(live, tokens, 1)
        await move(live, tokens, device["id"], "available")
        approved = event(
            "lv.datori.reservations.reservation.approved.v1", device["id"], reservation_id=R1
        )
        await publish(
            settings.kafka_bootstrap_servers,
            settings.reservations_topic,
            approved,
            approved,
            dataclasses.replace(approved),
        )
        await eventually(lambda: _has_status(live, tokens, device["id"], "reserved"))
        # a later, different event proves the duplicates were consumed (not still pending)
        released = event(CANCELLED, device["id"], reservation_id=R1)
        await publish(settings.kafka_bootstrap_servers, settings.reservations_topic, released)
        await eventually(lambda: _has_status(live, tokens, device["id"], "available"))
        history = await live.get(f"{DEVICES}/{device['id']}/history", headers=bearer(tokens.riga))
        changes = [
            h["changes"]["status"]
            for h in history.json()["items"]
            if h["action"] == "status_changed"
        ]
        assert changes == [
            ["in_stock", "available"],
            ["available", "reserved"],
            ["reserved", "available"],
        ]

    async def test_a_device_stays_reserved_while_any_reservation_holds_it(
        self,
        live: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        (device,) = await register(live, tokens, 1)
        await move(live, tokens, device["id"], "available")
        bootstrap, topic = settings.kafka_bootstrap_servers, settings.reservations_topic
        contracts = settings.contracts_topic
        steps: list[tuple[str, CloudEvent, str]] = [
            (topic, event(APPROVED, device["id"], reservation_id=R1), "reserved"),
            # a second reservation for a later period holds the same device
            (topic, event(APPROVED, device["id"], reservation_id=R2), "reserved"),
            # the first is cancelled after the second was approved: the device stays reserved
            (topic, event(CANCELLED, device["id"], reservation_id=R1), "reserved"),
            (contracts, event(ACTIVATED, device["id"], reservation_id=R2), "on_loan"),
            # a third reservation approved during the loan does not change the loan
            (topic, event(APPROVED, device["id"], reservation_id=R3), "on_loan"),
            (contracts, event(RETURNED, device["id"], reservation_id=R2), "reserved"),
            (topic, event(EXPIRED, device["id"], reservation_id=R3), "available"),
            # a fourth approval gives the device up again (it went to another family)
            (topic, event(APPROVED, device["id"], reservation_id=R4), "reserved"),
            (topic, event(WITHDRAWN, device["id"], reservation_id=R4), "available"),
            # the same reservation is offered the same device again (its repair was short)
            (topic, event(APPROVED, device["id"], reservation_id=R4), "reserved"),
            (topic, event(CANCELLED, device["id"], reservation_id=R4), "available"),
        ]
        for where, evt, status in steps:
            await publish(bootstrap, where, evt)
            await eventually(lambda s=status: _has_status(live, tokens, device["id"], s))  # type: ignore[misc]

    async def test_an_approval_arriving_after_its_loan_holds_nothing(
        self,
        live: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        (device,) = await register(live, tokens, 1)
        await move(live, tokens, device["id"], "available")
        bootstrap = settings.kafka_bootstrap_servers
        r = str(uuid.uuid4())
        await publish(
            bootstrap, settings.contracts_topic, event(ACTIVATED, device["id"], reservation_id=r)
        )
        await eventually(lambda: _has_status(live, tokens, device["id"], "on_loan"))
        # the reservation's approval comes late (two topics have no common order)
        await publish(
            bootstrap, settings.reservations_topic, event(APPROVED, device["id"], reservation_id=r)
        )
        await publish(
            bootstrap, settings.contracts_topic, event(RETURNED, device["id"], reservation_id=r)
        )
        await eventually(lambda: _has_status(live, tokens, device["id"], "available"))
        history = await live.get(f"{DEVICES}/{device['id']}/history", headers=bearer(tokens.riga))
        statuses = [
            h["changes"]["status"][1]
            for h in history.json()["items"]
            if h["action"] == "status_changed"
        ]
        assert statuses == ["available", "on_loan", "available"]

    async def test_repair_round_trip_returns_device_to_loan(
        self,
        live: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        (device,) = await register(live, tokens, 1)
        await move(live, tokens, device["id"], "available")
        bootstrap = settings.kafka_bootstrap_servers
        await publish(
            bootstrap,
            settings.contracts_topic,
            event("lv.datori.contracts.contract.activated.v1", device["id"]),
        )
        await eventually(lambda: _has_status(live, tokens, device["id"], "on_loan"))
        await publish(
            bootstrap,
            settings.tickets_topic,
            event("lv.datori.tickets.repair.started.v1", device["id"]),
        )
        await eventually(lambda: _has_status(live, tokens, device["id"], "in_repair"))
        await publish(
            bootstrap,
            settings.tickets_topic,
            event("lv.datori.tickets.repair.completed.v1", device["id"]),
        )
        await eventually(lambda: _has_status(live, tokens, device["id"], "on_loan"))

    async def test_a_return_during_the_repair_ends_the_loan_for_good(
        self,
        live: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        # Repaired, handed back to the family and returned to the school at once: the return
        # (contracts topic) may be applied before the repair's completion (tickets topic).
        (device,) = await register(live, tokens, 1)
        await move(live, tokens, device["id"], "available")
        bootstrap, contracts = settings.kafka_bootstrap_servers, settings.contracts_topic
        r = str(uuid.uuid4())
        steps: list[tuple[str, CloudEvent, str]] = [
            (contracts, event(ACTIVATED, device["id"], reservation_id=r), "on_loan"),
            (settings.tickets_topic, event(REPAIR_STARTED, device["id"]), "in_repair"),
        ]
        for where, evt, status in steps:
            await publish(bootstrap, where, evt)
            await eventually(lambda s=status: _has_status(live, tokens, device["id"], s))  # type: ignore[misc]
        returned = event(RETURNED, device["id"], reservation_id=r, condition="damaged")
        await publish(bootstrap, contracts, returned)
        # Applied when the condition the school recorded shows, on a history entry of its own
        # (the device stays in repair).
        await eventually(lambda: _condition_is(live, tokens, device["id"], "damaged"))
        history = await live.get(f"{DEVICES}/{device['id']}/history", headers=bearer(tokens.riga))
        assert {"condition": ["new", "damaged"]} in [h["changes"] for h in history.json()["items"]]
        await publish(bootstrap, settings.tickets_topic, event(REPAIR_COMPLETED, device["id"]))
        await eventually(lambda: _has_status(live, tokens, device["id"], "available"))

    async def test_poison_events_are_dead_lettered_and_do_not_block(
        self,
        live: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        (device,) = await register(live, tokens, 1)
        await move(live, tokens, device["id"], "available")
        bootstrap, topic = settings.kafka_bootstrap_servers, settings.reservations_topic
        unknown = event(
            "lv.datori.reservations.reservation.approved.v1", "00000000-0000-0000-0000-000000000001"
        )
        await publish(
            bootstrap,
            topic,
            unknown,
            event("lv.datori.reservations.reservation.approved.v1", device["id"]),
        )
        await eventually(lambda: _has_status(live, tokens, device["id"], "reserved"))
        letters = await eventually(lambda: _dead_letters(live, tokens))
        assert letters[0]["event_id"] == unknown.id
        assert "No device" in letters[0]["error"]
        denied = await live.get("/api/v1/inventory/ops/dead-letters", headers=bearer(tokens.riga))
        problem(denied, 403, "forbidden")

    async def test_dead_letter_retry_applies_once_fixed(
        self,
        live: httpx.AsyncClient,
        tokens: Tokens,
        seeded: dict[str, Any],
        settings: InventorySettings,
    ) -> None:
        (device,) = await register(live, tokens, 1)
        # in_stock → on_loan is illegal, so the activation is dead-lettered …
        await publish(
            settings.kafka_bootstrap_servers,
            settings.contracts_topic,
            event("lv.datori.contracts.contract.activated.v1", device["id"]),
        )
        (letter,) = await eventually(lambda: _dead_letters(live, tokens))
        # … until staff make the device available; then a retry applies it.
        await move(live, tokens, device["id"], "available")
        url = f"/api/v1/inventory/ops/dead-letters/{letter['id']}/retry"
        r = await live.post(url, headers=bearer(tokens.platform))
        assert r.status_code == 200, r.text
        assert r.json()["resolved_at"] is not None
        assert await status_of(live, tokens, device["id"]) == "on_loan"
        again = await live.post(url, headers=bearer(tokens.platform))
        problem(again, 409, "conflict")


async def _condition_is(
    client: httpx.AsyncClient, tokens: Tokens, device_id: str, condition: str
) -> bool:
    r = await client.get(f"{DEVICES}/{device_id}", headers=bearer(tokens.riga))
    return bool(r.json()["condition"] == condition)


async def _has_status(
    client: httpx.AsyncClient, tokens: Tokens, device_id: str, status: str
) -> bool:
    return await status_of(client, tokens, device_id) == status


async def _dead_letters(client: httpx.AsyncClient, tokens: Tokens) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/inventory/ops/dead-letters", headers=bearer(tokens.platform))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def test_caused_events_carry_the_cause_correlation_id(
    live: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any], settings: InventorySettings
) -> None:
    (device,) = await register(live, tokens, 1)
    await move(live, tokens, device["id"], "available")
    cause = dataclasses.replace(
        event("lv.datori.reservations.reservation.approved.v1", device["id"]),
        correlationid="journey-42",
    )
    await publish(settings.kafka_bootstrap_servers, settings.reservations_topic, cause)
    records = await read_topic(settings.kafka_bootstrap_servers, settings.events_topic, at_least=3)
    caused = [e for e in events_of(records) if e.data.get("to_status") == "reserved"]
    assert [e.correlationid for e in caused] == ["journey-42"]


async def test_damaged_return_records_condition_and_goes_to_repair(
    live: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any], settings: InventorySettings
) -> None:
    (device, idle) = await register(live, tokens, 2)
    for d in (device, idle):
        await move(live, tokens, d["id"], "available")
    await move(live, tokens, device["id"], "on_loan")
    bootstrap, topic = settings.kafka_bootstrap_servers, settings.contracts_topic
    returned = "lv.datori.contracts.contract.returned.v1"
    await publish(
        bootstrap,
        topic,
        event(returned, device["id"], condition="damaged"),
        event(returned, idle["id"], condition="damaged"),
    )
    await eventually(lambda: _has_status(live, tokens, device["id"], "in_repair"))
    history = await live.get(f"{DEVICES}/{device['id']}/history", headers=bearer(tokens.riga))
    returned_entry, repair_entry = history.json()["items"][-2:]
    assert returned_entry["changes"] == {
        "status": ["on_loan", "available"],
        "condition": ["new", "damaged"],
    }
    assert repair_entry["changes"] == {"status": ["available", "in_repair"]}
    # The repair ends where the return left the device: available.
    await publish(
        bootstrap,
        settings.tickets_topic,
        event("lv.datori.tickets.repair.completed.v1", device["id"]),
    )
    await eventually(lambda: _has_status(live, tokens, device["id"], "available"))
    # A return for a device that is not on loan changes nothing, condition included; a later
    # event with the same key (same partition, so applied after it) shows it was consumed.
    activated = event("lv.datori.contracts.contract.activated.v1", idle["id"])
    await publish(bootstrap, topic, activated)
    await eventually(lambda: _has_status(live, tokens, idle["id"], "on_loan"))
    untouched = await live.get(f"{DEVICES}/{idle['id']}", headers=bearer(tokens.riga))
    assert untouched.json()["condition"] == "new" and untouched.json()["version"] == 3
