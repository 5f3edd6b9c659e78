"""Inventory test fixtures: a fresh migrated database per test, the real broker, real tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from inventory_service.config import InventorySettings
from inventory_service.main import MIGRATIONS, create_app
from shared_kit.testing.client import running_app
from shared_kit.testing.tokens import JWKSServer, TokenIssuer

RIGA = "0010000"
VALMIERA = "0940200"
SCHOOL_A = "3113900001"
SCHOOL_B = "3113900002"
VALMIERA_SCHOOL = "4213900001"
CHROMEBOOK = "CB-11-GR1-3"


@pytest.fixture
async def settings(
    make_database: Callable[..., Any],
    jwks_server: JWKSServer,
    token_issuer: TokenIssuer,
    kafka_bootstrap: str,
    unique: str,
) -> InventorySettings:
    """Settings bound to this test's database, topics and the test JWKS."""
    return InventorySettings(
        environment="test",
        database_url=await make_database(MIGRATIONS),
        jwks_url=jwks_server.jwks_url,
        jwt_audience=token_issuer.audience,
        jwks_min_refresh_s=0,
        kafka_bootstrap_servers=kafka_bootstrap,
        events_topic=f"inventory.events.{unique}",
        reservations_topic=f"reservations.events.{unique}",
        contracts_topic=f"contracts.events.{unique}",
        tickets_topic=f"tickets.events.{unique}",
        consumer_group=f"inventory.{unique}",
        run_background_workers=False,
        log_json=False,
        outbox_poll_interval_s=0.05,
        consumer_session_timeout_ms=3000,
        consumer_max_attempts=2,
        kafka_topic_partitions=3,
    )


@pytest.fixture
async def client(settings: InventorySettings) -> AsyncIterator[httpx.AsyncClient]:
    """Client of a running inventory app (no background workers)."""
    async with running_app(create_app(settings)) as c:
        yield c


class Tokens:
    """Ready-made tokens for the usual callers."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self.issuer = issuer
        self.platform = issuer.mint(roles=["platform_admin"])
        self.riga = issuer.mint(roles=["municipality_admin"], municipalities=[RIGA])
        self.valmiera = issuer.mint(roles=["municipality_admin"], municipalities=[VALMIERA])
        self.school_a = issuer.mint(roles=["institution_admin"], institutions=[SCHOOL_A])
        self.technician = issuer.mint(roles=["technician"], municipalities=[RIGA])
        self.analyst = issuer.mint(roles=["ministry_analyst"])
        self.guardian = issuer.mint(roles=["guardian"])
        self.riga_client = issuer.mint(
            "client-riga",
            roles=["service"],
            municipalities=[RIGA],
            client_id="riga-platform",
            scope="inventory:read inventory:write",
        )
        self.riga_reader = issuer.mint(
            "client-riga-ro",
            roles=["service"],
            municipalities=[RIGA],
            client_id="riga-readonly",
            scope="inventory:read",
        )


@pytest.fixture(scope="session")
def tokens(token_issuer: TokenIssuer) -> Tokens:
    """Tokens for platform admin, municipality admins, school admin, analyst, clients."""
    return Tokens(token_issuer)


def bearer(token: str) -> dict[str, str]:
    """Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def device_body(serial: str, tag: str, **extra: Any) -> dict[str, Any]:
    """A valid device registration in Rīga."""
    body = {
        "serial_number": serial,
        "asset_tag": tag,
        "catalogue_item_code": CHROMEBOOK,
        "municipality_code": RIGA,
        "institution_registration_number": SCHOOL_A,
        "funding_source": "recovery_fund",
        "delivery_date": "2024-09-01",
        "purchase_price": "329.00",
    }
    body.update(extra)
    return body


@pytest.fixture
async def seeded(client: httpx.AsyncClient, tokens: Tokens) -> dict[str, Any]:
    """Two municipalities, three schools and one catalogue item, created through the API."""
    admin = bearer(tokens.platform)
    for code, name in ((RIGA, "Rīgas valstspilsēta"), (VALMIERA, "Valmieras novads")):
        r = await client.post(
            "/api/v1/inventory/municipalities", json={"code": code, "name": name}, headers=admin
        )
        assert r.status_code == 201, r.text
    for number, name, code in (
        (SCHOOL_A, "Rīgas 1. pamatskola", RIGA),
        (SCHOOL_B, "Rīgas 2. pamatskola", RIGA),
        (VALMIERA_SCHOOL, "Valmieras pamatskola", VALMIERA),
    ):
        r = await client.post(
            "/api/v1/inventory/institutions",
            headers=admin,
            json={"registration_number": number, "name": name, "municipality_code": code},
        )
        assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/inventory/catalogue-items",
        headers=admin,
        json={
            "code": CHROMEBOOK,
            "name": 'Chromebook 11.6" grades 1-3',
            "manufacturer": "Acer",
            "model": "Chromebook Spin 311",
            "category": "chromebook",
            "os": "chromeos",
            "screen_inches": "11.6",
            "touch": True,
            "base_warranty_months": 36,
            "options": {"extra_warranty_months": 24, "bag": True},
            "school_levels": ["grades 1-3"],
        },
    )
    assert r.status_code == 201, r.text
    return {"catalogue_item": r.json()}


@pytest.fixture
async def device(
    client: httpx.AsyncClient, tokens: Tokens, seeded: dict[str, Any]
) -> dict[str, Any]:
    """One registered device of school A in Rīga."""
    r = await client.post(
        "/api/v1/inventory/devices",
        json=device_body("SN-0001", "RIX-0001"),
        headers=bearer(tokens.riga),
    )
    assert r.status_code == 201, r.text
    return r.json()
