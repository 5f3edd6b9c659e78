"""Portal app factory: `uvicorn portal_service.main:create_app --factory`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI

from portal_service import service
from portal_service.config import PortalSettings
from portal_service.router import ROUTERS
from portal_service.web.drafts import drafts_purge
from portal_service.web.errors import install_page_errors
from portal_service.web.security import page_policy
from portal_service.web.templates import warm_up
from portal_service.web.timing import ServerTiming, TimedTransport
from shared_kit import design
from shared_kit.app import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
# Files of the portal's own, if it has any, beside the design system's (the kit's).
STATIC = Path(__file__).parent / "static"

DESCRIPTION = """
The people's side of the platform: server-rendered pages (GOV.UK Frontend, Latvian first,
English offered) for families, schools, technicians, municipalities and the ministry. It logs
people in through the gateway (authorization code + PKCE), keeps their tokens in server-side
web sessions, and calls the services' APIs with the person's own token. It publishes and
consumes no events and holds no business rule.
"""


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    """Build the portal."""
    settings = settings or PortalSettings()
    warm_up()
    app = create_service_app(
        ServiceSpec(
            name="portal",
            title="Portal",
            description=DESCRIPTION,
            settings=settings,
            routers=ROUTERS,
            migrations=MIGRATIONS,
            housekeeping=[service.session_purge(settings), drafts_purge(settings)],
            broker=False,
            page_policy=page_policy(settings),
        )
    )
    app.mount("/static", design.static_files(STATIC), name="static")
    install_page_errors(app)
    app.add_middleware(ServerTiming)
    _with_http_client(app, settings)
    return app


def _with_http_client(app: FastAPI, settings: PortalSettings) -> None:
    """One HTTP client for the gateway (and later the services) for the app's lifetime."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(settings.gateway_timeout_s)
        transport = TimedTransport(httpx.AsyncHTTPTransport())
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as http, inner(app):
            app.state.http = http
            yield

    app.router.lifespan_context = lifespan
