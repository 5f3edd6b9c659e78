"""Inventory test fixtures: a fresh migrated database per test, the real broker, real tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from inventory_service.config import InventorySettings
from inventory_service.main import MIGRATIONS, create_app
from shared_kit.testing.client import running_app
from shared_kit.testing.http import bearer
from shared_kit.testing.plugin import SettingsFactory
from shared_kit.testing.tokens import AudienceTokens, TokenIssuer

RIGA = "0010000"
VALMIERA = "0940200"
SCHOOL_A = "3113900001"
SCHOOL_B = "3113900002"
VALMIERA_SCHOOL = "4213900001"
CHROMEBOOK = "CB-11-GR1-3"
AUDIENCE = InventorySettings.model_fields["jwt_audience"].default  # "inventory"


@pytest.fixture
async def settings(service_settings: SettingsFactory) -> InventorySettings:
    """Settings bound to this test's database, topics and the test JWKS."""
    settings: InventorySettings = await service_settings(InventorySettings, MIGRATIONS)
    return settings


@pytest.fixture
async def client(settings: InventorySettings) -> AsyncIterator[httpx.AsyncClient]:
    """Client of a running inventory app (no background workers)."""
    async with running_app(create_app(settings)) as c:
        yield c


class Tokens(AudienceTokens):
    """Ready-made tokens of the inventory's usual callers."""

    def __init__(self, issuer: TokenIssuer) -> None:
        super().__init__(issuer, AUDIENCE)
        self.platform = self.mint(roles=["platform_admin"])
        self.riga = self.mint(roles=["municipality_admin"], municipalities=[RIGA])
        self.valmiera = self.mint(roles=["municipality_admin"], municipalities=[VALMIERA])
        self.school_a = self.mint(roles=["institution_admin"], institutions=[SCHOOL_A])
        self.technician = self.mint(roles=["technician"], municipalities=[RIGA])
        self.analyst = self.mint(roles=["ministry_analyst"])
        self.programme = self.mint(roles=["programme_manager"])
        self.guardian = self.mint(roles=["guardian"])
        self.riga_client = self.mint(
            "client-riga",
            roles=["service"],
            municipalities=[RIGA],
            client_id="riga-platform",
            scope="inventory:read inventory:write",
        )
        self.riga_reader = self.mint(
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
