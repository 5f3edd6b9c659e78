"""Synthetic, deterministic event histories at national scale, for the statistics benchmark.

Never used by the running service. Events are built in the producers' shapes (the inventory's
full device snapshot, reservations, contracts, tickets), keyed as the producers key them, so
they go through the same consumer code as real ones:

    schools = [(s.registration_number, s.municipality_code) for s in national_institutions()]
    for evt in national_history(schools, devices=250_000, events=1_000_000): ...
    await publish_history(settings, national_history(...))      # onto the consumed topics

`national_institutions()` is the VIIS stand-in's national register (`deploy/dev`).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from shared_kit.clock import Clock
from shared_kit.events import CloudEvent
from shared_kit.events.kafka import ensure_topics
from shared_kit.testing.clock import TestClock
from statistics_service.config import StatisticsSettings

START = dt.datetime(2025, 9, 1, 6, 0, tzinfo=dt.UTC)
_CATALOGUE = (  # (code, category, os, school levels)
    ("LAPTOP-14", "laptop", "windows", None),
    ("CHROMEBOOK-11", "chromebook", "chromeos", ["grades 1-6"]),
    ("TABLET-10", "tablet", "chromeos", ["grades 1-3"]),
    ("LAPTOP-15", "laptop", "windows", ["grades 7-12"]),
)
_FUNDING = ("react_eu", "recovery_fund", "eu_funds_2021_2027", "municipal_budget")
_STATUS_CHANGES = ("reserved", "on_loan", "available", "in_repair", "available", "lost")
School = tuple[str, str]  # (registration number, municipality ATVK code)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def device_snapshot(rng: random.Random, device_id: str, school: School) -> dict[str, Any]:
    """A new device's snapshot in the inventory's shape."""
    code, category, os, levels = rng.choice(_CATALOGUE)
    snapshot: dict[str, Any] = {
        "device_id": device_id,
        "version": 1,
        "serial_number": f"SN{device_id[:12]}",
        "asset_tag": f"AT{device_id[:12]}",
        "municipality_code": school[1],
        "institution_registration_number": school[0],
        "catalogue_item_code": code,
        "manufacturer": "Demo",
        "model": code,
        "category": category,
        "os": os,
        "school_levels": levels or [],
        "screen_inches": "14.0",
        "touch": False,
        "accessories": ["charger"],
        "purchase_price": "499.00",
        "funding_source": rng.choice(_FUNDING),
        "delivery_date": "2024-09-01",
        "warranty_ends_on": rng.choice([None, "2025-08-31", "2027-08-31", "2028-08-31"]),
        "insured_until": None,
        "condition": "new",
        "status": "available",
    }
    return snapshot


def _device_event(kind: str, snapshot: dict[str, Any], clock: Clock) -> CloudEvent:
    data: dict[str, Any] = {"device": dict(snapshot)}
    if kind == "updated":
        data["changed_fields"] = ["status"]
    return CloudEvent(
        type=f"lv.datori.inventory.device.{kind}.v1",
        source="/datori/inventory",
        subject=snapshot["device_id"],
        data=data,
        time=clock(),
        municipality=snapshot["municipality_code"],
    )


def _loan_events(rng: random.Random, school: School, clock: Clock) -> list[CloudEvent]:
    reservation_id, contract_id = _uuid(rng), _uuid(rng)
    criteria = rng.choice([[], [], [], ["low_income"], ["single_parent"], ["large_family"]])
    where = {"municipality_code": school[1], "institution_number": school[0]}
    reservation = {
        "reservation_id": reservation_id,
        "device_id": None,
        **where,
        "beneficiary": "learner",
        "learner_id": f"person-{reservation_id[:8]}",
        "requested_by": f"person-{reservation_id[8:16]}",
        "period_start": "2025-09-01T06:00:00Z",
        "period_end": "2026-06-01T06:00:00Z",
        "state": "requested",
        "reason": None,
        "priority_score": 40 if criteria else 0,
        "requested_at": "2025-09-01T06:00:00Z",
        "pickup_deadline": None,
        "social_criteria": criteria,
    }
    out = []
    for state in ("requested", rng.choice(["waitlisted", "approved", "approved", "approved"])):
        out.append(_event("reservations", f"reservation.{state}", reservation_id, school, clock,
                          {**reservation, "state": state}))  # fmt: skip
    if out[-1].data["state"] != "approved":
        return out
    contract = {
        "contract_id": contract_id,
        "number": f"C-{contract_id[:8]}",
        "reservation_id": reservation_id,
        "device_id": _uuid(rng),
        **where,
        "learner_id": reservation["learner_id"],
        "borrower_id": _uuid(rng),
        "period_start": "2025-09-01T06:00:00Z",
        "period_end": "2026-06-01T06:00:00Z",
        "document_version": 1,
        "document_sha256": "0" * 64,
    }
    for kind, state in [("activated", "active"), *rng.choice([[], [], [("returned", "returned")]])]:
        out.append(_event("contracts", f"contract.{kind}", contract_id, school, clock,
                          {**contract, "state": state}))  # fmt: skip
    return out


def _ticket_events(rng: random.Random, school: School, clock: Clock) -> list[CloudEvent]:
    ticket_id = _uuid(rng)
    opened = clock()
    ticket = {
        "ticket_id": ticket_id,
        "number": rng.randrange(1, 10**6),
        "device_id": _uuid(rng),
        "municipality_code": school[1],
        "institution_number": school[0],
        "category": "hardware",
        "severity": "normal",
        "state": "new",
        "source": "portal",
        "reporter_kind": "guardian",
        "learner_id": None,
        "contract_id": None,
        "repair": False,
        "warranty_claim": False,
        "assignee_id": None,
        "opened_at": opened.isoformat(),
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": None,
    }
    out = [_event("tickets", "ticket.opened", ticket_id, school, clock, ticket)]
    if rng.random() < 0.6:
        resolved = opened + dt.timedelta(hours=rng.randrange(1, 120))
        done = {**ticket, "state": "resolved", "resolved_at": resolved.isoformat()}
        out.append(_event("tickets", "ticket.resolved", ticket_id, school, clock, done))
    return out


def _event(
    service: str, name: str, subject: str, school: School, clock: Clock, data: dict[str, Any]
) -> CloudEvent:
    return CloudEvent(
        type=f"lv.datori.{service}.{name}.v1",
        source=f"/datori/{service}",
        subject=subject,
        data=data,
        time=clock(),
        municipality=school[1],
    )


def national_history(
    schools: Sequence[School],
    *,
    devices: int = 250_000,
    events: int = 1_000_000,
    seed: int = 2025,
) -> Iterator[CloudEvent]:
    """`devices` registrations spread over the schools, then status changes, loans and tickets
    until `events` events in all (at least the registrations)."""
    rng = random.Random(seed)
    clock = TestClock(START, tick=dt.timedelta(milliseconds=7))  # each event 7 ms later
    snapshots: list[dict[str, Any]] = []
    for _ in range(devices):
        snapshot = device_snapshot(rng, _uuid(rng), rng.choice(schools))
        snapshots.append(snapshot)
        yield _device_event("registered", snapshot, clock)
    produced = devices
    while produced < events:
        roll = rng.random()
        if roll < 0.6 and snapshots:
            snapshot = rng.choice(snapshots)
            snapshot["version"] += 1
            snapshot["status"] = rng.choice(_STATUS_CHANGES)
            batch = [_device_event("updated", snapshot, clock)]
        elif roll < 0.9:
            batch = _loan_events(rng, rng.choice(schools), clock)
        else:
            batch = _ticket_events(rng, rng.choice(schools), clock)
        yield from batch[: events - produced]
        produced += len(batch)


def topic_of(evt: CloudEvent, settings: StatisticsSettings) -> str:
    """The consumed topic the event's producer publishes to."""
    service = evt.type.split(".")[2]
    return str(getattr(settings, f"{service}_topic"))


async def publish_history(
    settings: StatisticsSettings, events: Iterable[CloudEvent], *, chunk: int = 5000
) -> int:
    """Publish events onto their producers' topics (keyed by aggregate, as the relays do);
    returns how many were sent."""
    await ensure_topics(settings, settings.consumed_topics)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        linger_ms=20,
        max_batch_size=512 * 1024,
        max_request_size=5 * 1024 * 1024,
    )
    await producer.start()
    sent = 0
    try:
        pending = []
        for evt in events:
            pending.append(
                await producer.send(
                    topic_of(evt, settings),
                    evt.kafka_value(),
                    key=evt.subject.encode(),
                    headers=evt.kafka_headers(),
                )
            )
            if len(pending) >= chunk:
                for future in pending:
                    await future
                sent += len(pending)
                pending = []
        for future in pending:
            await future
        sent += len(pending)
    finally:
        await producer.stop()
    return sent
