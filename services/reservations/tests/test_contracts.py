"""Every event reservations emit matches its published contract (and the inventory's reading)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml
from jsonschema import Draft202012Validator
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reservations_service import events
from reservations_service.config import ReservationsSettings
from reservations_service.events import PAYLOADS
from reservations_service.models import Beneficiary, Reservation, ReservationState
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer

from .conftest import API, Inventory, Tokens, reserve, sql
from .test_allocation import activate, run_expiry

CONTRACTS = Path(__file__).parents[3] / "contracts"


def validator(event_type: str) -> Draft202012Validator:
    """Validator for an event type's data schema."""
    schema = json.loads((CONTRACTS / "events" / f"{event_type}.json").read_text())
    assert "x-provisional" not in schema  # reservations' own events are not provisional
    return Draft202012Validator(schema)


async def test_emitted_events_match_their_schemas(
    client: httpx.AsyncClient,
    tokens: Tokens,
    inventory: Inventory,
    schools: dict[str, str],
    clock: TestClock,
    sessions: async_sessionmaker[AsyncSession],
    settings: ReservationsSettings,
    engine: AsyncEngine,
) -> None:
    device = await inventory.add()
    first = await reserve(client, tokens.guardian)  # requested, approved
    await reserve(client, tokens.school_a, learner="l-2")  # requested, waitlisted
    third = await reserve(client, tokens.school_a, learner="l-3")
    r = await client.post(
        f"{API}/{third['id']}/reject", json={"reason": "x"}, headers=bearer(tokens.school_a)
    )
    assert r.status_code == 200  # rejected
    r = await client.post(f"{API}/{first['id']}/cancel", headers=bearer(tokens.guardian))
    assert r.status_code == 200  # cancelled; second: offered, approved
    clock.advance(days=8)
    await run_expiry(sessions, settings, clock)  # second: expired
    approved = await reserve(client, tokens.school_a, learner="l-5")
    await inventory.change(device, status="in_repair")  # l-5: device_withdrawn, waitlisted
    await inventory.change(device, status="available")  # l-5: offered, approved
    r = await client.post(f"{API}/{approved['id']}/cancel", headers=bearer(tokens.school_a))
    assert r.status_code == 200, r.text
    fourth = await reserve(client, tokens.school_a, learner="l-4")
    await activate(sessions, clock, fourth["id"], device)  # fulfilled
    rows = await sql(engine, "SELECT event_type, headers, payload FROM outbox_message ORDER BY seq")
    assert {row.event_type for row in rows} == set(PAYLOADS)  # every type exercised
    document: dict[str, Any] = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text())
    headers_schema = Draft202012Validator(document["components"]["schemas"]["CloudEventHeaders"])
    for row in rows:
        data = json.loads(row.payload)
        validator(row.event_type).validate(data)
        headers_schema.validate(dict(row.headers))
    operations = document["operations"]
    assert "reservations_consumes_inventory_events" in operations
    assert "reservations_consumes_contracts_events" in operations


def test_payloads_are_written_as_their_models_write_them() -> None:
    """`events.payload` builds by hand what the payload model writes in JSON mode."""
    at = dt.datetime(2026, 9, 1, 8, 30, tzinfo=dt.UTC)
    variants = [
        {
            "state": ReservationState.REQUESTED,
            "device_id": None,
            "pickup_deadline": None,
            "reason": None,
        },
        {
            "state": ReservationState.APPROVED,
            "device_id": uuid.uuid4(),
            "pickup_deadline": at + dt.timedelta(days=3, microseconds=250),
            "reason": "ok",
        },
        {
            "state": ReservationState.WAITLISTED,
            "device_id": None,
            "pickup_deadline": None,
            "reason": None,
        },
    ]
    for variant in variants:
        reservation = Reservation(
            id=uuid.uuid4(),
            municipality_code="0010000",
            institution_number="3113900001",
            beneficiary=Beneficiary.LEARNER,
            learner_id="l-1",
            requested_by="g-1",
            period_start=at.astimezone(dt.timezone(dt.timedelta(hours=3))),
            period_end=at + dt.timedelta(days=90, seconds=1),
            priority_score=3,
            social_criteria=[
                {"criterion": "low_income", "source": "municipality"},
                {"criterion": "disability", "source": "declared"},
            ],
            requested_at=at,
            **variant,
        )
        for model in PAYLOADS.values():
            if variant["device_id"] is None and model.model_fields["device_id"].is_required():
                continue
            dumped = model.model_validate(events.payload(reservation)).model_dump(mode="json")
            assert events.payload(reservation) == dumped
            assert json.dumps(events.payload(reservation)) == json.dumps(dumped)
