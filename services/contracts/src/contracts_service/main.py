"""Contracts app factory: `uvicorn contracts_service.main:create_app --factory`."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from contracts_service.config import ContractsSettings
from contracts_service.consumers import build_consumers
from contracts_service.document.press import Press
from contracts_service.document.seal import (
    DocumentSealer,
    build_sealer,
    material_from_settings,
    trust_roots,
)
from contracts_service.gateway import GatewayPeopleDirectory, PeopleDirectory
from contracts_service.router import router
from contracts_service.service import lifecycle
from shared_kit.app import ServiceSpec, create_service_app
from shared_kit.clock import Clock, system_clock
from shared_kit.crypto import RotatingCipher
from shared_kit.housekeeping import Purge

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """
Loan agreements (patapinājuma līgumi) for the devices of the computer libraries. An approved
reservation drafts one: lender, borrower (the guardian, identified through the gateway),
learner, device, period, and the terms of a versioned template in Latvian with an English
rendering, rendered to PDF and stored immutably with its SHA-256. The borrower signs after a
strong, recent Latvija.lv login; the lender countersigns; the final PDF is sealed with a PAdES
signature that any PDF validator can check. Returns, early terminations, expiry and overdue
loans complete the life cycle; `/verify` tells whether a PDF is one of ours and who signed it.
"""


def sweep_job(settings: ContractsSettings, clock: Clock) -> Purge:
    """Housekeeping step: expire unsigned contracts, mark ended loans overdue."""

    async def sweep(session: AsyncSession, _: dt.datetime) -> dict[str, int]:
        return await lifecycle.sweep(session, settings=settings, now=clock())

    return sweep


def create_app(
    settings: ContractsSettings | None = None,
    clock: Clock | None = None,
    people: PeopleDirectory | None = None,
    sealer: DocumentSealer | None = None,
) -> FastAPI:
    """Build the contracts service; `clock` replaces the system clock (tests move time)."""
    settings = settings or ContractsSettings()
    clock = clock or system_clock
    people = people or GatewayPeopleDirectory.from_settings(settings)
    material = material_from_settings(settings)
    press = Press(sealer or build_sealer(material), settings.render_processes)
    app = create_service_app(
        ServiceSpec(
            name="contracts",
            title="Contracts service",
            description=DESCRIPTION,
            settings=settings,
            routers=[router],
            migrations=MIGRATIONS,
            consumers=partial(build_consumers, clock=clock, people=people, press=press),
            housekeeping=[sweep_job(settings, clock)],
            clock=clock,
            closing=[press.close],
            openapi_tags=[
                {"name": "contracts", "description": "Loan contracts and their documents"},
                {"name": "signing", "description": "Borrower signature, lender countersignature"},
                {"name": "returns", "description": "Returns with condition and photos"},
                {"name": "lenders", "description": "Lenders' legal details"},
                {"name": "verification", "description": "Is this PDF one of ours?"},
                {"name": "operations", "description": "Health, readiness, dead letters"},
            ],
        )
    )
    app.state.people = people
    app.state.cipher = RotatingCipher(settings.personal_code_key)
    app.state.press = press
    app.state.trust_roots = trust_roots(settings, material)
    return app
