"""Tickets test fixtures: a fresh migrated database per test, the real broker, real tokens,
a clock the tests move, and the inventory's and contracts' events applied through the
service's own consumer handlers (the same code path as the broker's)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kit.db import create_engine, session_scope
from shared_kit.events import CloudEvent
from shared_kit.events.outbox import OutboxMessage
from shared_kit.testing import images
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer
from shared_kit.testing.tokens import AudienceTokens, TokenIssuer
from tickets_service import consumers
from tickets_service.config import TicketsSettings
from tickets_service.main import MIGRATIONS, create_app
from tickets_service.service import breaches

API = "/api/v1/tickets"
RIGA = "0010000"
VALMIERA = "0940200"
SCHOOL_A = "3113900001"
SCHOOL_B = "3113900002"
VALMIERA_SCHOOL = "4213900001"
GUARDIAN = "7d1c2a4e-1111-4c3b-9a55-000000000001"
OTHER_GUARDIAN = "7d1c2a4e-1111-4c3b-9a55-000000000002"
CHILD = "learner-0001"
OTHER_CHILD = "learner-0009"
TECHNICIAN = "tech-0001"
START = dt.datetime(2026, 10, 5, 7, 0, tzinfo=dt.UTC)  # a Monday morning in Riga
PNG = images.png()
JPEG = images.jpeg()


@pytest.fixture
def clock() -> TestClock:
    """This test's clock: starts at START and moves only when told."""
    return TestClock(START)


@pytest.fixture
async def settings(service_settings: Callable[..., Awaitable[Any]]) -> TicketsSettings:
    """Settings bound to this test's database, topics and the test JWKS; small photo limits."""
    settings: TicketsSettings = await service_settings(
        TicketsSettings, MIGRATIONS, photo_max_bytes=2048, photo_max_count=3
    )
    return settings


@pytest.fixture
def app(settings: TicketsSettings, clock: TestClock) -> FastAPI:
    """The tickets app of this test."""
    return create_app(settings, clock)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Client of a running tickets app (no background workers)."""
    async with running_app(app) as c:
        yield c


@pytest.fixture
async def engine(settings: TicketsSettings) -> AsyncIterator[AsyncEngine]:
    """An engine on this test's database, for asserting in SQL."""
    engine = create_engine(settings.database_url, pool_size=2)
    yield engine
    await engine.dispose()


class Tokens(AudienceTokens):
    """Ready-made tokens (audience `tickets`) for the usual callers."""

    def __init__(self, issuer: TokenIssuer) -> None:
        super().__init__(issuer, "tickets")
        self.platform = self.mint(roles=["platform_admin"])
        self.riga = self.mint(roles=["municipality_admin"], municipalities=[RIGA])
        self.valmiera = self.mint(roles=["municipality_admin"], municipalities=[VALMIERA])
        self.technician = self.mint(TECHNICIAN, roles=["technician"], municipalities=[RIGA])
        self.valmiera_technician = self.mint(roles=["technician"], municipalities=[VALMIERA])
        self.school_a = self.mint(roles=["institution_admin"], institutions=[SCHOOL_A])
        self.school_b = self.mint(roles=["institution_admin"], institutions=[SCHOOL_B])
        self.teacher_a = self.mint(roles=["teacher"], institutions=[SCHOOL_A])
        self.guardian = self.mint(GUARDIAN, roles=["guardian"], learners=[CHILD])
        self.other_guardian = self.mint(OTHER_GUARDIAN, roles=["guardian"], learners=[OTHER_CHILD])
        self.learner = self.mint(CHILD, roles=["learner"])
        self.other_learner = self.mint(OTHER_CHILD, roles=["learner"])
        self.analyst = self.mint(roles=["ministry_analyst"])
        self.riga_client = self.mint(
            "client-riga",
            roles=["service"],
            municipalities=[RIGA],
            client_id="riga-platform",
            scope="tickets:read tickets:write",
        )
        self.riga_reader = self.mint(
            "client-riga-ro",
            roles=["service"],
            municipalities=[RIGA],
            client_id="riga-readonly",
            scope="tickets:read",
        )


@pytest.fixture(scope="session")
def tokens(token_issuer: TokenIssuer) -> Tokens:
    """Tokens for admins, technicians, school staff, guardians, learners and platforms."""
    return Tokens(token_issuer)


def snapshot(
    device_id: str,
    version: int = 1,
    *,
    institution: str | None = SCHOOL_A,
    municipality: str = RIGA,
    status: str = "on_loan",
    tag: str | None = None,
    warranty: str | None = "2027-09-01",
    insured: str | None = "2027-08-31",
    category: str = "laptop",
    os: str = "windows",
) -> dict[str, Any]:
    """A device snapshot in the inventory's event shape (every field the inventory sends)."""
    return {
        "device_id": device_id,
        "version": version,
        "serial_number": f"SN-{device_id[:8]}",
        "asset_tag": tag or f"RIX-{device_id[:6].upper()}",
        "municipality_code": municipality,
        "institution_registration_number": institution,
        "catalogue_item_code": "LAPTOP-14",
        "manufacturer": "Lenovo",
        "model": "ThinkPad E14",
        "category": category,
        "os": os,
        "school_levels": [],
        "screen_inches": "14.0",
        "touch": False,
        "accessories": ["charger"],
        "purchase_price": "649.00",
        "funding_source": "recovery_fund",
        "delivery_date": "2024-09-01",
        "warranty_ends_on": warranty,
        "insured_until": insured,
        "condition": "good",
        "status": status,
    }


def device_event(snap: dict[str, Any], kind: str = "registered", **extra: Any) -> CloudEvent:
    """An inventory device event carrying the snapshot."""
    return CloudEvent(
        type=f"lv.datori.inventory.device.{kind}.v1",
        source="/datori/inventory",
        subject=snap["device_id"],
        data={"device": snap, **extra},
        municipality=snap["municipality_code"],
    )


def contract_event(
    kind: str,
    *,
    contract_id: str,
    device_id: str,
    borrower: str = GUARDIAN,
    learner: str = CHILD,
    institution: str = SCHOOL_A,
    at: dt.datetime = START,
    **extra: Any,
) -> CloudEvent:
    """A contracts event as the contracts service publishes it."""
    states = {"activated": "active", "returned": "returned", "terminated": "terminated"}
    data = {
        "contract_id": contract_id,
        "number": "RIX-2026-000042",
        "reservation_id": str(uuid.uuid4()),
        "device_id": device_id,
        "municipality_code": RIGA,
        "institution_number": institution,
        "learner_id": learner,
        "borrower_id": borrower,
        "state": states[kind],
        "period_start": "2026-09-01T00:00:00+00:00",
        "period_end": "2027-06-30T00:00:00+00:00",
        "document_version": 2,
        "document_sha256": "0" * 64,
        f"{kind}_at": at.isoformat(),
        **extra,
    }
    return CloudEvent(
        type=f"lv.datori.contracts.contract.{kind}.v1",
        source="/datori/contracts",
        subject=contract_id,
        data=data,
        municipality=RIGA,
    )


class World:
    """Feeds upstream events through the service's own handlers and makes tickets."""

    def __init__(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens, clock: TestClock
    ) -> None:
        self.app, self.client, self.tokens, self.clock = app, client, tokens, clock
        settings: TicketsSettings = app.state.settings
        self.settings = settings
        self.handlers = consumers.build_handlers(clock)

    async def handle(self, evt: CloudEvent) -> None:
        """Apply an event through the service's handler, in its own transaction."""
        async for session in session_scope(self.app.state.sessions):
            await self.handlers[evt.type](session, evt)

    async def device(self, **fields: Any) -> str:
        """A device known to the read model; returns its id."""
        device_id = str(uuid.uuid4())
        await self.handle(device_event(snapshot(device_id, **fields)))
        return device_id

    async def lent(
        self, *, borrower: str = GUARDIAN, learner: str = CHILD, **fields: Any
    ) -> tuple[str, str]:
        """A device on loan (contract activated); returns (device id, contract id)."""
        device_id = await self.device(**fields)
        contract_id = str(uuid.uuid4())
        institution = fields.get("institution", SCHOOL_A)
        await self.handle(
            contract_event(
                "activated",
                contract_id=contract_id,
                device_id=device_id,
                borrower=borrower,
                learner=learner,
                institution=institution,
            )
        )
        return device_id, contract_id

    async def report(
        self, token: str, device_id: str | None, status: int = 201, **fields: Any
    ) -> dict[str, Any]:
        """POST a ticket (for `device_id`, unless the fields name an asset tag)."""
        body: dict[str, Any] = {"category": "screen", "description": "Cracked screen"}
        if device_id is not None:
            body["device_id"] = device_id
        body.update(fields)
        r = await self.client.post(API, json=body, headers=bearer(token))
        assert r.status_code == status, r.text
        return dict(r.json())

    async def move(
        self,
        ticket: dict[str, Any],
        to: str,
        token: str | None = None,
        status: int = 200,
        **body: Any,
    ) -> dict[str, Any]:
        """Transition a ticket (support by default) and check the status."""
        r = await self.client.post(
            f"{API}/{ticket['id']}/transitions",
            json={"to": to, **body},
            headers=bearer(token or self.tokens.technician),
        )
        assert r.status_code == status, r.text
        return dict(r.json())

    async def get(self, ticket_id: str, token: str | None = None) -> dict[str, Any]:
        """A ticket as the platform administrator (or `token`) sees it."""
        r = await self.client.get(
            f"{API}/{ticket_id}", headers=bearer(token or self.tokens.platform)
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def sla(self, ticket_id: str) -> dict[str, Any]:
        """The SLA view of a ticket."""
        r = await self.client.get(f"{API}/{ticket_id}/sla", headers=bearer(self.tokens.platform))
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def run_sla_job(self) -> dict[str, int]:
        """One run of the SLA job at the clock's now."""
        counts: dict[str, int] = {}
        async for session in session_scope(self.app.state.sessions):
            counts = await breaches.flag_breaches(session, now=self.clock())
        return counts

    async def outbox(self) -> list[OutboxMessage]:
        """Every event the service wrote, in order."""
        async for session in session_scope(self.app.state.sessions):
            rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.seq))
            return list(rows.all())
        return []

    async def types(self, subject: str) -> list[str]:
        """Event types written for one subject (ticket or device), without prefix and version."""
        return [
            r.event_type.removeprefix("lv.datori.tickets.").removesuffix(".v1")
            for r in await self.outbox()
            if r.key == subject
        ]


@pytest.fixture
async def world(app: FastAPI, client: httpx.AsyncClient, tokens: Tokens, clock: TestClock) -> World:
    """Builder of devices, loans and tickets for this test."""
    return World(app, client, tokens, clock)


async def sql(engine: AsyncEngine, query: str, **params: Any) -> list[Any]:
    """Rows of a query, for assertions."""
    async with engine.connect() as conn:
        return list((await conn.execute(text(query), params)).all())
