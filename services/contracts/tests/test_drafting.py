"""Drafting from `reservation.approved`, with the borrower looked up in a real gateway.

The gateway (its own database, the VIIS and Mykoob stand-ins) runs once per session for this
module; the guardian exists because they logged in. The last test runs the whole way through
the real broker: device and reservation events in, `drafted` and, after both signatures,
`activated` out.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from pypdf import PdfReader
from sqlalchemy import select

from contracts_service.config import ContractsSettings
from contracts_service.exceptions import BorrowerUnknown, GatewayUnavailable, PersonNotFound
from contracts_service.gateway import GatewayPeopleDirectory
from contracts_service.main import create_app
from contracts_service.models import Contract
from shared_kit.db import session_scope
from shared_kit.events.outbox import OutboxMessage
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.gateway import Gateway, running_gateway
from shared_kit.testing.http import bearer
from shared_kit.testing.infra import Postgres
from shared_kit.testing.kafka import events_of, eventually, publish, read_topic

from .conftest import (
    CONTRACTS,
    People,
    Tokens,
    World,
    device_event,
    reservation_event,
)

pytestmark = pytest.mark.slow
GUARDIAN_CODE = "010185-10004"  # the VIIS stand-in's demo guardian, Ilze Bērziņa


@pytest.fixture(scope="session")
def gateway(postgres: Postgres) -> Iterator[Gateway]:
    """A real gateway with a `people:personal-code` client, for the whole session."""
    with running_gateway(postgres) as running:
        yield running


@pytest.fixture(scope="session")
async def guardian(gateway: Gateway) -> dict[str, Any]:
    """The demo guardian's claims after a Mykoob login (so the gateway knows her)."""
    return await gateway.login("guardian")


@pytest.fixture
def people(guardian: dict[str, Any]) -> People:
    """The logged-in guardian and one of her children."""
    return People(
        guardian=uuid.UUID(guardian["sub"]),
        other_guardian=uuid.uuid4(),
        learner=uuid.UUID(guardian["learners"][0]),
    )


@pytest.fixture
def settings(settings: ContractsSettings, gateway: Gateway) -> ContractsSettings:
    """The test settings, pointed at the gateway with the contracts client."""
    return settings.model_copy(
        update={
            "gateway_url": gateway.url,
            "gateway_client_id": gateway.client_id,
            "gateway_client_secret": SecretStr(gateway.client_secret),
        }
    )


async def contracts_of(app: FastAPI) -> list[Contract]:
    """Every contract row."""
    rows: list[Contract] = []
    async for session in session_scope(app.state.sessions):
        rows = list((await session.scalars(select(Contract))).all())
    return rows


async def outbox_payloads(app: FastAPI) -> list[str]:
    """Every event payload written."""
    rows: list[str] = []
    async for session in session_scope(app.state.sessions):
        rows = [r.payload.decode() for r in await session.scalars(select(OutboxMessage))]
    return rows


class TestDraftingFromReservations:
    async def test_borrower_comes_from_the_gateway_and_stays_out_of_logs_and_events(
        self,
        world: World,
        client: httpx.AsyncClient,
        tokens: Tokens,
        app: FastAPI,
        people: People,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        await world.register_lender()
        device_id, reservation_id = uuid.uuid4(), uuid.uuid4()
        await world.handle(device_event(device_id, purchase_price="329.00", model="Spin 311"))
        approved = reservation_event("approved", reservation_id, device_id, people)
        await world.handle(approved)
        await world.handle(approved)  # redelivered: still one contract
        (row,) = await contracts_of(app)
        assert row.reservation_id == reservation_id and row.borrower_id == people.guardian
        contract = await world.get(row.id, tokens.guardian())
        assert contract["borrower_name"] == "Ilze Bērziņa"
        assert contract["state"] == "awaiting_borrower"
        pdf = (
            await client.get(f"{CONTRACTS}/{row.id}/pdf", headers=bearer(tokens.guardian()))
        ).content
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "Vārds, uzvārds / Name: Ilze Bērziņa" in text
        assert f"Personas kods / Personal code: {GUARDIAN_CODE}" in text
        assert contract["learner"] in text and GUARDIAN_CODE not in contract["learner"]
        assert GUARDIAN_CODE.encode() not in row.borrower_personal_code_encrypted
        assert GUARDIAN_CODE not in json.dumps(contract)
        assert all(GUARDIAN_CODE not in p for p in await outbox_payloads(app))
        assert caplog.records
        assert all(GUARDIAN_CODE not in r.getMessage() for r in caplog.records)

    async def test_a_withdrawn_device_cancels_its_contract_and_the_next_approval_drafts_anew(
        self, world: World, tokens: Tokens, app: FastAPI, people: People
    ) -> None:
        await world.register_lender()
        first, second, reservation_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        for device_id in (first, second):
            await world.handle(device_event(device_id))
        await world.handle(reservation_event("approved", reservation_id, first, people))
        (old,) = await contracts_of(app)
        assert (await world.sign(await world.get(old.id))).status_code == 200
        await world.handle(reservation_event("device_withdrawn", reservation_id, second, people))
        assert (await world.get(old.id))["state"] == "awaiting_lender"  # not its device
        await world.handle(reservation_event("device_withdrawn", reservation_id, first, people))
        cancelled = await world.get(old.id)
        assert cancelled["state"] == "cancelled"
        assert cancelled["end_reason"] == "reservation.device_withdrawn"
        approved = reservation_event("approved", reservation_id, second, people)
        await world.handle(approved)
        await world.handle(approved)  # redelivered: still one new contract
        new = [c for c in await contracts_of(app) if c.id != old.id]
        assert [(c.device_id, c.state.value) for c in new] == [(second, "awaiting_borrower")]
        r = await world.client.get(
            CONTRACTS, params={"reservation_id": str(reservation_id)}, headers=bearer(tokens.riga)
        )
        listed = [(c["id"], c["state"]) for c in r.json()["items"]]
        assert listed == [(str(old.id), "cancelled"), (str(new[0].id), "awaiting_borrower")]

    async def test_token_is_cached_and_unknown_people_are_refused(
        self, gateway: Gateway, settings: ContractsSettings, people: People
    ) -> None:
        directory = GatewayPeopleDirectory.from_settings(settings)
        first = await directory.person(people.guardian)
        token = directory._token
        again = await directory.person(people.guardian)
        assert directory._token == token and first.full_name == again.full_name
        assert GUARDIAN_CODE not in repr(first)
        with pytest.raises(PersonNotFound):
            await directory.person(uuid.uuid4())

    async def test_a_reservation_without_a_person_is_not_drafted(
        self, world: World, app: FastAPI, people: People
    ) -> None:
        device_id = uuid.uuid4()
        await world.handle(device_event(device_id))
        for requested_by in ("riga-platform", ""):
            evt = reservation_event(
                "approved", uuid.uuid4(), device_id, people, requested_by=requested_by
            )
            with pytest.raises(BorrowerUnknown):
                await world.handle(evt)
        assert await contracts_of(app) == []


class TestGatewayAway:
    async def test_nothing_is_half_drafted(
        self, settings: ContractsSettings, clock: TestClock, people: People
    ) -> None:
        away = settings.model_copy(update={"gateway_url": "http://127.0.0.1:9"})
        app = create_app(away, clock=clock)
        async with running_app(app) as client:
            world = World(app, client, Tokens.__new__(Tokens), people)
            device_id = uuid.uuid4()
            await world.handle(device_event(device_id))
            with pytest.raises(GatewayUnavailable):  # an OSError: the runner keeps retrying
                await world.handle(reservation_event("approved", uuid.uuid4(), device_id, people))
            assert await contracts_of(app) == []
            assert isinstance(GatewayUnavailable("x"), OSError)


@pytest.fixture
async def live(settings: ContractsSettings, clock: TestClock) -> AsyncIterator[FastAPI]:
    """The contracts service with its outbox relay and consumers running."""
    app = create_app(settings.model_copy(update={"run_background_workers": True}), clock=clock)
    async with running_app(app):
        yield app


class TestThroughTheBroker:
    async def test_from_reservation_approved_to_activated(
        self, live: FastAPI, settings: ContractsSettings, tokens: Tokens, people: People
    ) -> None:
        bootstrap = settings.kafka_bootstrap_servers
        device_id, reservation_id = uuid.uuid4(), uuid.uuid4()
        await publish(bootstrap, settings.inventory_topic, device_event(device_id))
        await publish(
            bootstrap,
            settings.reservations_topic,
            reservation_event("approved", reservation_id, device_id, people),
        )

        async def drafted() -> list[Contract]:
            return await contracts_of(live)

        (row,) = await eventually(drafted, timeout_s=30)
        transport = httpx.ASGITransport(app=live)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            world = World(live, client, tokens, people)
            await world.register_lender()
            contract = await world.get(row.id)
            assert (await world.sign(contract)).status_code == 200
            assert (await world.countersign(contract)).status_code == 200
        records = await read_topic(bootstrap, settings.events_topic, at_least=4)
        evts = [e for e in events_of(records) if e.subject == str(row.id)]
        assert [e.type.split(".")[-2] for e in evts] == [
            "drafted",  # version 1: the lender's details were not registered yet
            "drafted",  # version 2: now they are, open for signing
            "signed_by_borrower",
            "activated",
        ]
        activated = evts[-1].data
        assert (activated["device_id"], activated["reservation_id"]) == (
            str(device_id),
            str(reservation_id),
        )
        assert activated["borrower_id"] == str(people.guardian)
        assert all(GUARDIAN_CODE not in json.dumps(e.data) for e in evts)
        mine = [r for r in records if r.key == str(row.id).encode()]
        assert len({r.partition for r in mine}) == 1  # one contract, one partition, in order
