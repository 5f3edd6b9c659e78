"""Gateway app factory: `uvicorn gateway_service.main:create_app --factory`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import service
from gateway_service.config import GatewaySettings
from gateway_service.consumers import build_consumers
from gateway_service.deps import TokenBucket
from gateway_service.login import pages
from gateway_service.login.router import login_router, logout_router
from gateway_service.router import oauth_router, router
from gateway_service.service.common import audit_purge
from shared_kit import design
from shared_kit.app import ServiceSpec, create_service_app
from shared_kit.clock import Clock, system_clock
from shared_kit.housekeeping import Purge

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """
The platform's authorization server: it signs short-lived access tokens (ES256, JWKS with
rotation), rotates refresh tokens, issues client-credentials tokens to municipal platforms
and VIIS, logs people in through Latvija.lv (SAML 2.0, with single logout), E-klase and Mykoob
(OAuth 2.0), all mapped to VIIS, and keeps the people, role grants and audit log behind them.
The OAuth endpoints answer RFC 6749 errors; everything else answers problem+json.
"""


def on_clock(purge: Purge, clock: Clock) -> Purge:
    """A housekeeping step that reads the service's clock (the housekeeper's is the system's)."""

    async def run(session: AsyncSession, _: dt.datetime) -> dict[str, int]:
        return await purge(session, clock())

    return run


def create_app(settings: GatewaySettings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the gateway service; `clock` replaces the system clock (tests move time)."""
    settings = settings or GatewaySettings()
    clock = clock or system_clock
    pages.warm_up()
    app = create_service_app(
        ServiceSpec(
            name="gateway",
            title="Auth gateway",
            description=DESCRIPTION,
            settings=settings,
            routers=[oauth_router, login_router, logout_router, router],
            migrations=MIGRATIONS,
            consumers=build_consumers,
            housekeeping=[
                on_clock(service.purge_ended_sessions, clock),
                on_clock(audit_purge(settings.audit_retention_days), clock),
            ],
            clock=clock,
            openapi_tags=[
                {"name": "oauth", "description": "Discovery, JWKS, token and revocation"},
                {
                    "name": "login",
                    "description": "Logins through Latvija.lv, E-klase and Mykoob; logout",
                },
                {"name": "keys", "description": "Signing keys and their rotation"},
                {"name": "clients", "description": "Machine clients (client credentials)"},
                {"name": "grants", "description": "Roles VIIS does not know"},
                {"name": "people", "description": "A person's own name and children"},
                {"name": "audit", "description": "Who did what, when"},
                {"name": "internal", "description": "Lookups for trusted services"},
                {"name": "operations", "description": "Health, readiness, dead letters"},
            ],
        )
    )
    # The design system's CSS and JS for the login's pages (the portal's look).
    app.mount(pages.STATIC_URL, design.static_files(), name="static")
    app.state.token_limiter = TokenBucket(settings.token_rate_per_s, settings.token_rate_burst)
    app.state.login_limiter = TokenBucket(settings.login_rate_per_s, settings.login_rate_burst)
    return app
