"""Every event the inventory emits matches its published contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import yaml
from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from inventory_service.config import InventorySettings
from inventory_service.events import PAYLOADS
from shared_kit.events.outbox import OutboxMessage
from shared_kit.testing.http import bearer

from .conftest import SCHOOL_B, Tokens, device_body

CONTRACTS = Path(__file__).parents[3] / "contracts"


def validator(event_type: str) -> Draft202012Validator:
    """Validator for an event type's data schema."""
    schema = json.loads((CONTRACTS / "events" / f"{event_type}.json").read_text())
    return Draft202012Validator(schema)


async def outbox(settings: InventorySettings) -> list[OutboxMessage]:
    """Every outbox row, in publication order."""
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(OutboxMessage).order_by(OutboxMessage.seq))
            return list(rows)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def test_emitted_events_match_their_schemas(
    client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any], settings: InventorySettings
) -> None:
    r = await client.post(
        "/api/v1/inventory/devices", json=device_body("SN-C", "RIX-C"), headers=bearer(tokens.riga)
    )
    url = f"/api/v1/inventory/devices/{r.json()['id']}"
    await client.patch(
        url,
        json={"institution_registration_number": SCHOOL_B, "notes": "n"},
        headers=bearer(tokens.riga),
    )
    await client.post(f"{url}/transitions", json={"to": "available"}, headers=bearer(tokens.riga))
    rows = await outbox(settings)
    assert {row.event_type for row in rows} == set(PAYLOADS)  # every type exercised
    document = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text())
    headers_schema = Draft202012Validator(document["components"]["schemas"]["CloudEventHeaders"])
    for row in rows:
        validator(row.event_type).validate(json.loads(row.payload))
        headers_schema.validate(dict(row.headers))
