"""Reservations test fixtures: a fresh migrated database per test, the real broker, real tokens,
a clock the tests move, and a stand-in for the inventory's events that goes through the same
read-model code as the consumer."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reservations_service.config import ReservationsSettings
from reservations_service.main import MIGRATIONS, create_app
from reservations_service.service import readmodel
from shared_kit.db import create_engine, create_session_factory
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer
from shared_kit.testing.plugin import SettingsFactory
from shared_kit.testing.tokens import AudienceTokens, TokenIssuer

API = "/api/v1/reservations"
RIGA = "0010000"
VALMIERA = "0940200"
SCHOOL_A = "3113900001"
SCHOOL_B = "3113900002"
VALMIERA_SCHOOL = "4213900001"
CHILD = "person-child-1"
SIBLING = "person-child-2"
OTHER_CHILD = "person-child-9"
START = dt.datetime(2026, 9, 1, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> TestClock:
    """This test's clock, from 1 September 2026; each reading advances it by a millisecond, so
    request order is the order of the calls (as with a real clock)."""
    return TestClock(START, tick=dt.timedelta(milliseconds=1))


@pytest.fixture
async def settings(service_settings: SettingsFactory) -> ReservationsSettings:
    """Settings bound to this test's database, topics and the test JWKS."""
    settings: ReservationsSettings = await service_settings(ReservationsSettings, MIGRATIONS)
    return settings


@pytest.fixture
async def engine(settings: ReservationsSettings) -> AsyncIterator[AsyncEngine]:
    """An engine on this test's database, for seeding and for asserting in SQL."""
    engine = create_engine(settings.database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(
    engine: AsyncEngine, settings: ReservationsSettings
) -> async_sessionmaker[AsyncSession]:
    """Sessions on this test's database, writing events to this test's topic."""
    return create_session_factory(engine, outbox_topic=settings.events_topic)


@pytest.fixture
async def client(
    settings: ReservationsSettings, clock: TestClock
) -> AsyncIterator[httpx.AsyncClient]:
    """Client of a running reservations app (no background workers)."""
    async with running_app(create_app(settings, clock)) as c:
        yield c


class Tokens(AudienceTokens):
    """Ready-made tokens (audience `reservations`) for the usual callers."""

    def __init__(self, issuer: TokenIssuer) -> None:
        super().__init__(issuer, "reservations")
        self.platform = self.mint(roles=["platform_admin"])
        self.riga = self.mint(roles=["municipality_admin"], municipalities=[RIGA])
        self.valmiera = self.mint(roles=["municipality_admin"], municipalities=[VALMIERA])
        self.school_a = self.mint(roles=["institution_admin"], institutions=[SCHOOL_A])
        self.school_b = self.mint(roles=["institution_admin"], institutions=[SCHOOL_B])
        self.teacher_a = self.mint(roles=["teacher"], institutions=[SCHOOL_A])
        self.guardian = self.mint(roles=["guardian"], learners=[CHILD, SIBLING])
        self.other_guardian = self.mint(roles=["guardian"], learners=[OTHER_CHILD])
        self.analyst = self.mint(roles=["ministry_analyst"])
        self.programme = self.mint(roles=["programme_manager"])
        self.riga_client = self.mint(
            "client-riga",
            roles=["service"],
            municipalities=[RIGA],
            client_id="riga-platform",
            scope="reservations:read reservations:write",
        )
        self.riga_reader = self.mint(
            "client-riga-ro",
            roles=["service"],
            municipalities=[RIGA],
            client_id="riga-readonly",
            scope="reservations:read",
        )


@pytest.fixture(scope="session")
def tokens(token_issuer: TokenIssuer) -> Tokens:
    """Tokens for admins, school staff, guardians, analysts and machine clients."""
    return Tokens(token_issuer)


def snapshot_event(
    device_id: str,
    version: int,
    *,
    institution: str | None = SCHOOL_A,
    municipality: str = RIGA,
    status: str = "available",
    category: str = "laptop",
    os: str = "windows",
    screen: str | None = "14.0",
    touch: bool = False,
    item: str = "LAPTOP-14",
) -> dict[str, Any]:
    """A device snapshot in the inventory's event shape (extra fields included)."""
    return {
        "device_id": device_id,
        "version": version,
        "serial_number": f"SN-{device_id[:8]}",
        "asset_tag": f"TAG-{device_id[:8]}",
        "municipality_code": municipality,
        "institution_registration_number": institution,
        "catalogue_item_code": item,
        "manufacturer": "Lenovo",
        "model": "ThinkPad E14",
        "category": category,
        "os": os,
        "school_levels": [],
        "screen_inches": screen,
        "touch": touch,
        "accessories": ["charger"],
        "purchase_price": "649.00",
        "funding_source": "recovery_fund",
        "delivery_date": "2024-09-01",
        "warranty_ends_on": None,
        "insured_until": None,
        "condition": "new",
        "status": status,
    }


class Inventory:
    """Feeds device snapshots into the read model as the consumer would (same code path)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: TestClock) -> None:
        self.sessions, self.clock = sessions, clock
        self.devices: dict[str, dict[str, Any]] = {}

    async def add(self, **fields: Any) -> str:
        """Register a device (available at school A unless told otherwise); returns its id."""
        device_id = str(uuid.uuid4())
        self.devices[device_id] = snapshot_event(device_id, 1, **fields)
        await self._apply(self.devices[device_id])
        return device_id

    async def change(self, device_id: str, **fields: Any) -> None:
        """A newer snapshot of a device: status, institution, …"""
        current = self.devices[device_id]
        renamed = {
            "institution_registration_number" if k == "institution" else k: v
            for k, v in fields.items()
        }
        current.update(renamed, version=current["version"] + 1)
        await self._apply(current)

    async def _apply(self, snap: dict[str, Any]) -> None:
        async with self.sessions() as session, session.begin():
            await readmodel.apply_snapshot(session, as_snapshot(snap), now=self.clock())


def as_snapshot(snap: dict[str, Any]) -> readmodel.Snapshot:
    """The read model's snapshot of a device in the inventory's event shape."""
    return readmodel.Snapshot(
        device_id=uuid.UUID(snap["device_id"]),
        version=snap["version"],
        municipality_code=snap["municipality_code"],
        institution_number=snap["institution_registration_number"],
        catalogue_item_code=snap["catalogue_item_code"],
        category=snap["category"],
        os=snap["os"],
        screen_inches=Decimal(snap["screen_inches"]) if snap["screen_inches"] else None,
        touch=snap["touch"],
        status=snap["status"],
    )


@pytest.fixture
def inventory(sessions: async_sessionmaker[AsyncSession], clock: TestClock) -> Inventory:
    """The inventory stand-in of this test."""
    return Inventory(sessions, clock)


@pytest.fixture
async def schools(inventory: Inventory) -> dict[str, str]:
    """Institutions known to the read model (each learned from an in-stock device)."""
    ids = {}
    for number, municipality in ((SCHOOL_A, RIGA), (SCHOOL_B, RIGA), (VALMIERA_SCHOOL, VALMIERA)):
        ids[number] = await inventory.add(
            institution=number, municipality=municipality, status="in_stock"
        )
    return ids


def reservation_body(
    learner: str = CHILD, institution: str = SCHOOL_A, **extra: Any
) -> dict[str, Any]:
    """A valid reservation request for a term starting now-ish."""
    body: dict[str, Any] = {"learner_id": learner, "institution_number": institution}
    body.update(extra)
    return body


async def reserve(
    client: httpx.AsyncClient, token: str, status: int = 201, **fields: Any
) -> dict[str, Any]:
    """POST a reservation and check the status."""
    r = await client.post(API, json=reservation_body(**fields), headers=bearer(token))
    assert r.status_code == status, r.text
    return dict(r.json())


async def sql(engine: AsyncEngine, query: str, **params: Any) -> list[Any]:
    """Rows of a query, for assertions."""
    async with engine.connect() as conn:
        return list((await conn.execute(text(query), params)).all())


OVERLAPS = """
    SELECT a.id, b.id FROM reservation a JOIN reservation b
      ON a.device_id = b.device_id AND a.id < b.id AND a.period && b.period
    WHERE a.state IN ('approved', 'fulfilled') AND b.state IN ('approved', 'fulfilled')
"""
