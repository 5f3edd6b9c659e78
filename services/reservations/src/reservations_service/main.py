"""Reservations app factory: `uvicorn reservations_service.main:create_app --factory`."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service.config import ReservationsSettings
from reservations_service.consumers import build_consumers
from reservations_service.router import router
from reservations_service.service import lifecycle
from shared_kit.app import ServiceSpec, create_service_app
from shared_kit.clock import Clock, system_clock
from shared_kit.housekeeping import Purge

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """
Families and schools reserve devices of a municipality's computer library. Double booking is
impossible in the database (an exclusion constraint on device and period). When devices are
scarce they go first to the children the programme names (low-income and single-parent
families, families with three or more children or raising a disabled child), by a documented
score, then by request time; the others wait in the institution's waitlist and are offered
the next device that frees up. Availability comes from the inventory's device events; loans
come from the contracts service.
"""


def expiry_job(settings: ReservationsSettings, clock: Clock) -> Purge:
    """Housekeeping step: expire overdue reservations and offer the freed devices."""

    async def expire(session: AsyncSession, _: dt.datetime) -> dict[str, int]:
        return await lifecycle.expire_overdue(
            session, now=clock(), limit=settings.expiry_batch_size
        )

    return expire


def create_app(
    settings: ReservationsSettings | None = None, clock: Clock = system_clock
) -> FastAPI:
    """Build the reservations service; `clock` replaces the system clock (tests move time)."""
    settings = settings or ReservationsSettings()
    return create_service_app(
        ServiceSpec(
            name="reservations",
            title="Reservations service",
            description=DESCRIPTION,
            settings=settings,
            routers=[router],
            migrations=MIGRATIONS,
            consumers=partial(build_consumers, clock=clock),
            housekeeping=[expiry_job(settings, clock)],
            clock=clock,
            openapi_tags=[
                {"name": "reservations", "description": "Requests, decisions, cancellations"},
                {"name": "waitlists", "description": "Waitlists and availability"},
                {"name": "policies", "description": "Municipal reservation rules"},
                {"name": "operations", "description": "Health, readiness, dead letters"},
            ],
        )
    )
