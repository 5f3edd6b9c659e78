"""Contracts test fixtures: a fresh migrated database per test, the real broker, real tokens.

Most tests build their contracts with a borrower already known (drafting called with the
person's identity); the drafting tests in `test_drafting.py` look the borrower up in a real
gateway process instead (see `gateway.py`).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from pydantic import SecretStr

from contracts_service import consumers
from contracts_service.config import ContractsSettings
from contracts_service.gateway import PersonIdentity
from contracts_service.main import MIGRATIONS, create_app
from contracts_service.repository import DeviceRepository
from contracts_service.service import drafting
from shared_kit.db import session_scope
from shared_kit.events import CloudEvent
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer
from shared_kit.testing.infra import free_port
from shared_kit.testing.plugin import SettingsFactory
from shared_kit.testing.tokens import AudienceTokens, TokenIssuer

RIGA = "0010000"
VALMIERA = "0940200"
SCHOOL_A = "3113900101"
SCHOOL_B = "3113900102"
# Invented personal codes in the valid format (never a real person's).
GUARDIAN_CODE = "010185-10004"
OTHER_CODE = "020290-20002"
START = dt.datetime(2026, 8, 20, 9, 0, tzinfo=dt.UTC)
CONTRACTS = "/api/v1/contracts"
AUDIENCE = ContractsSettings.model_fields["jwt_audience"].default  # the gateway mints per service


@pytest.fixture
def clock() -> TestClock:
    """This test's clock: starts at START and moves only when told."""
    return TestClock(START)


@pytest.fixture
async def settings(service_settings: SettingsFactory) -> ContractsSettings:
    """Settings bound to this test's database, topics and the test JWKS; no gateway."""
    settings: ContractsSettings = await service_settings(
        ContractsSettings,
        MIGRATIONS,
        personal_code_key=SecretStr(Fernet.generate_key().decode()),
        gateway_url=f"http://127.0.0.1:{free_port()}",  # nobody listens: no lookups here
        gateway_client_id="contracts",
        gateway_client_secret=SecretStr("unused"),
        # Documents render in a thread here: a pool of worker processes per test app would
        # cost a process start each; test_press.py and the whole-system tests run the pool.
        render_processes=0,
    )
    return settings


@pytest.fixture
def app(settings: ContractsSettings, clock: TestClock) -> FastAPI:
    """The contracts app of this test."""
    return create_app(settings, clock=clock)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Client of a running contracts app (no background workers)."""
    async with running_app(app) as c:
        yield c


@dataclass
class People:
    """The people of the tests, as platform ids."""

    guardian: uuid.UUID
    other_guardian: uuid.UUID
    learner: uuid.UUID


@pytest.fixture
def people() -> People:
    """Fresh person ids."""
    return People(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())


class Tokens(AudienceTokens):
    """Ready-made tokens of the contracts audience for the usual callers."""

    def __init__(self, issuer: TokenIssuer, people: People, clock: TestClock) -> None:
        super().__init__(issuer, AUDIENCE)
        self.people, self.clock = people, clock
        self.platform = self.mint(roles=["platform_admin"])
        self.riga = self.mint(roles=["municipality_admin"], municipalities=[RIGA])
        self.valmiera = self.mint(roles=["municipality_admin"], municipalities=[VALMIERA])
        self.school_a = self.mint(
            str(uuid.uuid4()), roles=["institution_admin"], institutions=[SCHOOL_A]
        )
        self.school_b = self.mint(roles=["institution_admin"], institutions=[SCHOOL_B])
        self.analyst = self.mint(roles=["ministry_analyst"])
        self.riga_platform = self.mint(
            "client-riga",
            roles=["service"],
            municipalities=[RIGA],
            client_id="riga-platform",
            scope="contracts:read contracts:write",
        )

    def guardian(self, **login: Any) -> str:
        """The borrower with a login as given (default: strong and recent)."""
        return self.person(self.people.guardian, **login)

    def other(self, **login: Any) -> str:
        """Another guardian, strong login."""
        return self.person(self.people.other_guardian, **login)

    def person(
        self,
        subject: uuid.UUID,
        *,
        idp: str = "latvija",
        amr: tuple[str, ...] = ("smartid",),
        age_s: float = 60,
    ) -> str:
        """A guardian's token from a login `age_s` seconds before the test clock's now."""
        auth_time = int(self.clock().timestamp() - age_s)
        return self.mint(
            str(subject),
            roles=["guardian"],
            learners=[str(self.people.learner)],
            idp=idp,
            amr=list(amr),
            auth_time=auth_time,
            ttl_s=int(max(600, time.time() - auth_time + 600)),
        )


@pytest.fixture
def tokens(token_issuer: TokenIssuer, people: People, clock: TestClock) -> Tokens:
    """Tokens for administrators, guardians and a municipal platform."""
    return Tokens(token_issuer, people, clock)


def device_event(device_id: uuid.UUID, version: int = 1, **overrides: Any) -> CloudEvent:
    """An inventory device event as the inventory publishes it (plus optional extra fields)."""
    device = {
        "device_id": str(device_id),
        "version": version,
        "serial_number": f"SN-{device_id.hex[:6].upper()}",
        "asset_tag": f"RIX-{device_id.hex[:4].upper()}",
        "municipality_code": RIGA,
        "institution_registration_number": SCHOOL_A,
        "catalogue_item_code": "CB-11-GR1-3",
        "category": "chromebook",
        "os": "chromeos",
        "school_levels": ["grades 1-3"],
        "screen_inches": "11.6",
        "touch": True,
        "funding_source": "recovery_fund",
        "delivery_date": "2024-09-01",
        "warranty_ends_on": "2027-09-01",
        "insured_until": "2027-08-31",
        "condition": "new",
        "status": "reserved",
        **overrides,
    }
    return CloudEvent(
        type="lv.datori.inventory.device.registered.v1",
        source="/datori/inventory",
        subject=str(device_id),
        data={"device": device},
        municipality=RIGA,
    )


def reservation_event(
    kind: str,
    reservation_id: uuid.UUID,
    device_id: uuid.UUID,
    people: People,
    *,
    requested_by: str | None = None,
) -> CloudEvent:
    """A reservation event as the reservations service publishes it (with `requested_by`)."""
    data = {
        "reservation_id": str(reservation_id),
        "device_id": str(device_id),
        "municipality_code": RIGA,
        "institution_number": SCHOOL_A,
        "beneficiary": "learner",
        "learner_id": str(people.learner),
        "requested_by": requested_by if requested_by is not None else str(people.guardian),
        "period_start": "2026-09-01T00:00:00+00:00",
        "period_end": "2027-06-30T00:00:00+00:00",
        "state": kind,
        "reason": None,
        "priority_score": 0,
        "requested_at": START.isoformat(),
        "pickup_deadline": None,
    }
    return CloudEvent(
        type=f"lv.datori.reservations.reservation.{kind}.v1",
        source="/datori/reservations",
        subject=str(reservation_id),
        data=data,
        municipality=RIGA,
    )


def lender_body(kind: str = "institution", code: str = SCHOOL_A, **extra: Any) -> dict[str, Any]:
    """A lender registration."""
    body = {
        "kind": kind,
        "code": code,
        "municipality_code": RIGA,
        "name": "Rīgas Demo 1. pamatskola" if kind == "institution" else "Rīgas valstspilsēta",
        "registration_number": "90000012345",
        "address": "Skolas iela 1, Rīga, LV-1010",
        "representative": "direktore Anna Kalniņa",
    }
    body.update(extra)
    return body


class World:
    """Builds contracts the way production does, with a borrower already known."""

    def __init__(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: Tokens, people: People
    ) -> None:
        self.app, self.client, self.tokens, self.people = app, client, tokens, people
        settings: ContractsSettings = app.state.settings
        self.handlers = consumers.build_handlers(
            settings, app.state.people, app.state.clock, app.state.press
        )

    async def handle(self, evt: CloudEvent) -> None:
        """Apply an event through the service's own handler, in its own transaction."""
        async for session in session_scope(self.app.state.sessions):
            await self.handlers[evt.type](session, evt)

    async def register_lender(self, **extra: Any) -> dict[str, Any]:
        """Register school A's legal details through the API."""
        r = await self.client.post(
            f"{CONTRACTS}/lenders", json=lender_body(**extra), headers=bearer(self.tokens.riga)
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def draft(
        self, *, device_id: uuid.UUID | None = None, borrower_code: str = GUARDIAN_CODE
    ) -> dict[str, Any]:
        """A drafted contract of school A for the guardian; returns its API representation."""
        device_id = device_id or uuid.uuid4()
        await self.handle(device_event(device_id, purchase_price="329.00"))
        reservation_id = uuid.uuid4()
        async for session in session_scope(self.app.state.sessions):
            device = await DeviceRepository(session).get(device_id)
            assert device is not None
            contract = await drafting.draft(
                session=session,
                settings=self.app.state.settings,
                cipher=self.app.state.cipher,
                press=self.app.state.press,
                facts=drafting.ReservationFacts(
                    reservation_id=reservation_id,
                    device_id=device_id,
                    municipality_code=RIGA,
                    institution_number=SCHOOL_A,
                    learner_id=str(self.people.learner),
                    borrower_id=self.people.guardian,
                    period_start=dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
                    period_end=dt.datetime(2027, 6, 30, tzinfo=dt.UTC),
                ),
                device=device,
                borrower=PersonIdentity(
                    id=self.people.guardian,
                    given_name="Ilze",
                    family_name="Bērziņa",
                    personal_code=SecretStr(borrower_code),
                ),
                learner_name="Marta Bērziņa",
                now=self.app.state.clock(),
            )
            contract_id = contract.id
        return await self.get(contract_id)

    async def get(self, contract_id: Any, token: str | None = None) -> dict[str, Any]:
        """The contract as the platform administrator sees it."""
        r = await self.client.get(
            f"{CONTRACTS}/{contract_id}", headers=bearer(token or self.tokens.platform)
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def current_sha(self, contract: dict[str, Any]) -> str:
        """SHA-256 of the contract's current document."""
        r = await self.client.get(
            f"{CONTRACTS}/{contract['id']}/documents", headers=bearer(self.tokens.platform)
        )
        assert r.status_code == 200, r.text
        return str(r.json()[-1]["sha256"])

    async def sign(
        self, contract: dict[str, Any], token: str | None = None, **body: Any
    ) -> httpx.Response:
        """The borrower signs the current version (by its SHA-256 unless told otherwise)."""
        payload = {"document_sha256": await self.current_sha(contract), "consent_version": "2026.1"}
        payload.update(body)
        return await self.client.post(
            f"{CONTRACTS}/{contract['id']}/sign",
            json={k: v for k, v in payload.items() if v is not None},
            headers={**bearer(token or self.tokens.guardian()), "User-Agent": "pytest-browser"},
        )

    async def countersign(
        self, contract: dict[str, Any], token: str | None = None, **body: Any
    ) -> httpx.Response:
        """The lender countersigns the current version."""
        payload = {"document_sha256": await self.current_sha(contract), "consent_version": "2026.1"}
        payload.update(body)
        return await self.client.post(
            f"{CONTRACTS}/{contract['id']}/countersign",
            json={k: v for k, v in payload.items() if v is not None},
            headers=bearer(token or self.tokens.school_a),
        )

    async def active(self) -> dict[str, Any]:
        """A contract both parties signed: active, sealed (school A's details registered once)."""
        r = await self.client.get(
            f"{CONTRACTS}/lenders/institution/{SCHOOL_A}", headers=bearer(self.tokens.riga)
        )
        if r.status_code == 404:
            await self.register_lender()
        contract = await self.draft()
        r = await self.sign(contract)
        assert r.status_code == 200, r.text
        r = await self.countersign(contract)
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture
async def world(app: FastAPI, client: httpx.AsyncClient, tokens: Tokens, people: People) -> World:
    """Builder of contracts for this test."""
    return World(app, client, tokens, people)
