"""A loss or theft the tickets service confirmed is recorded on the device's loan, once, and the
contract's later events carry it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from jsonschema import Draft202012Validator

from contracts_service.consumers import DEVICE_LOST, DEVICE_STOLEN
from shared_kit.events import CloudEvent
from shared_kit.testing.http import bearer

from .conftest import CONTRACTS, RIGA, SCHOOL_A, Tokens, World
from .test_lifecycle import outbox

EVENTS = Path(__file__).parents[3] / "contracts" / "events"


def loss_event(kind: str, device_id: str, **overrides: Any) -> CloudEvent:
    """`device.lost_confirmed` / `device.stolen_confirmed` as the tickets service publishes it,
    checked against its committed schema."""
    type_ = DEVICE_STOLEN if kind == "stolen" else DEVICE_LOST
    data: dict[str, Any] = {
        "device_id": device_id,
        "ticket_id": str(uuid.uuid4()),
        "municipality_code": RIGA,
        "institution_number": SCHOOL_A,
        "confirmed_at": "2026-09-20T10:00:00Z",
        "contract_id": None,
        **({"police_report_number": "11-2026-0042"} if kind == "stolen" else {}),
        **overrides,
    }
    schema = json.loads((EVENTS / f"{type_}.json").read_text())
    Draft202012Validator(schema).validate(data)
    return CloudEvent(type=type_, source="/datori/tickets", subject=device_id, data=data)


class TestDeviceLoss:
    async def test_theft_is_recorded_on_the_active_loan_once(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens, app: FastAPI
    ) -> None:
        active = await world.active()
        first = loss_event("stolen", active["device_id"])
        await world.handle(first)
        await world.handle(loss_event("lost", active["device_id"]))  # the first one stays
        contract = await world.get(active["id"])
        assert contract["device_loss"] == "stolen"
        assert contract["device_loss_at"] == "2026-09-20T10:00:00Z"
        assert contract["device_loss_ticket_id"] == first.data["ticket_id"]
        assert contract["state"] == "active"  # the lender decides what happens to the loan

        r = await client.post(
            f"{CONTRACTS}/{active['id']}/terminate",
            json={"reason": "zagta ierīce"},
            headers=bearer(tokens.school_a),
        )
        assert r.status_code == 200, r.text
        terminated = [r for r in await outbox(app) if r.event_type.endswith("terminated.v1")]
        data = json.loads(terminated[0].payload)
        assert data["device_loss"] == "stolen"
        schema = json.loads((EVENTS / f"{terminated[0].event_type}.json").read_text())
        Draft202012Validator(schema).validate(data)

    async def test_the_named_contract_wins_and_unknown_devices_are_ignored(
        self, world: World
    ) -> None:
        active = await world.active()
        await world.handle(loss_event("lost", active["device_id"], contract_id=active["id"]))
        assert (await world.get(active["id"]))["device_loss"] == "lost"
        await world.handle(loss_event("lost", str(uuid.uuid4())))  # lent under no contract

    async def test_a_draft_is_not_a_loan(self, world: World) -> None:
        draft = await world.draft()
        await world.handle(loss_event("lost", draft["device_id"]))
        assert (await world.get(draft["id"]))["device_loss"] is None
