"""Every event tickets emit matches its published contract, and the device effects carry what
the inventory's consumer reads (`device_id`, keyed by the device)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from shared_kit.testing.http import bearer
from tickets_service.events import EFFECT_PAYLOADS, PAYLOADS

from .conftest import API, World, contract_event

CONTRACTS = Path(__file__).parents[3] / "contracts"


def validator(event_type: str) -> Draft202012Validator:
    """Validator for an event type's data schema."""
    schema = json.loads((CONTRACTS / "events" / f"{event_type}.json").read_text())
    assert "x-provisional" not in schema
    return Draft202012Validator(schema)


async def test_emitted_events_match_their_schemas(world: World) -> None:
    device, contract = await world.lent()
    repair = await world.report(world.tokens.guardian, device, category="screen")  # opened
    await world.move(repair, "acknowledged")  # acknowledged
    url = f"{API}/{repair['id']}"
    tech = bearer(world.tokens.technician)
    r = await world.client.post(f"{url}/assign", json={"assignee_id": "tech-0001"}, headers=tech)
    assert r.status_code == 200, r.text  # assigned
    r = await world.client.post(f"{url}/comments", json={"body": "On it"}, headers=tech)
    assert r.status_code == 201, r.text  # commented
    await world.move(repair, "in_progress")  # no event: the device stays with the learner
    await world.move(repair, "in_repair")  # repair.started
    r = await world.client.post(f"{API}/{repair['id']}/loaner", headers=bearer(world.tokens.riga))
    assert r.status_code == 202  # loaner.requested
    await world.move(repair, "resolved")  # repair.completed, resolved
    await world.move(repair, "closed")  # closed
    await world.move(repair, "in_repair")  # reopened, repair.started
    world.clock.advance(days=30)
    await world.run_sla_job()  # sla_breached (resolution)
    for category in ("lost", "stolen"):
        loss = await world.report(world.tokens.guardian, device, category=category)
        r = await world.client.post(
            f"{API}/{loss['id']}/confirm-loss", headers=bearer(world.tokens.technician)
        )
        assert r.status_code == 200, r.text
    await world.handle(
        contract_event(
            "returned",
            contract_id=contract,
            device_id=device,
            condition="damaged",
            notes=None,
            photo_ids=[],
        )
    )
    rows = await world.outbox()
    assert {row.event_type for row in rows} == set(PAYLOADS)  # every type exercised
    document: dict[str, Any] = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text())
    headers_schema = Draft202012Validator(document["components"]["schemas"]["CloudEventHeaders"])
    for row in rows:
        data = json.loads(row.payload)
        validator(row.event_type).validate(data)
        headers = dict(row.headers)
        headers_schema.validate(headers)
        assert headers["ce_source"] == "/datori/tickets" and headers["ce_municipality"] == "0010000"
        if row.event_type in EFFECT_PAYLOADS:
            assert row.key == data["device_id"] == device
        else:
            assert row.key == data["ticket_id"]
    operations = document["operations"]
    assert "tickets_consumes_inventory_events" in operations
    assert "tickets_consumes_contracts_events" in operations
    for consumer in ("inventory", "contracts", "reservations"):
        assert f"{consumer}_consumes_tickets_events" in operations
