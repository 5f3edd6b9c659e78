"""Tickets app factory: `uvicorn tickets_service.main:create_app --factory`."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.app import ServiceSpec, create_service_app
from shared_kit.clock import Clock, system_clock
from shared_kit.housekeeping import Purge
from tickets_service.config import TicketsSettings
from tickets_service.consumers import build_consumers
from tickets_service.router import router
from tickets_service.service import breaches

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """
Problem reports for the devices of the computer libraries: a broken or lost laptop is a child
without a computer, so a ticket drives the repair, the warranty or insurance claim, and a
loaner. Guardians, learners and school staff report problems for devices they are related to;
tickets go to the owner municipality's support queue, where technicians work them through
`new → acknowledged → in_progress → in_repair → waiting_for_parts / waiting_for_reporter →
resolved → closed` (and reopen) under SLA targets per municipality and severity (the
resolution clock pauses while waiting for the reporter; breaches are flagged once and
published). Taking the device in (`in_repair`, not the report) moves it to `in_repair` in the
inventory, resolving brings it back; a confirmed loss or theft marks it
there and on the loan contract; a damaged return opens a ticket by itself; a loaner request
asks the reservations service for a top-priority replacement.
"""


def sla_job(settings: TicketsSettings, clock: Clock) -> Purge:
    """Housekeeping step: flag SLA clocks past their target and publish the breaches."""

    # The housekeeper's own "now" is the system's; the SLA reads the service's clock.
    async def flag(session: AsyncSession, _: dt.datetime) -> dict[str, int]:
        return await breaches.flag_breaches(session, now=clock(), limit=settings.sla_batch_size)

    return flag


def create_app(settings: TicketsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the tickets service; `clock` replaces the system clock (tests move time)."""
    settings = settings or TicketsSettings()
    clock = clock or system_clock
    return create_service_app(
        ServiceSpec(
            name="tickets",
            title="Tickets service",
            description=DESCRIPTION,
            settings=settings,
            routers=[router],
            migrations=MIGRATIONS,
            consumers=partial(build_consumers, clock=clock),
            housekeeping=[sla_job(settings, clock)],
            clock=clock,
            openapi_tags=[
                {"name": "tickets", "description": "Reports, the state machine, SLA, effects"},
                {"name": "comments", "description": "Public and internal comments"},
                {"name": "photos", "description": "Photos of the problem"},
                {"name": "insurance", "description": "Insurance claims for damage and theft"},
                {"name": "queues", "description": "A municipality's support queue"},
                {"name": "sla", "description": "SLA policies per municipality and severity"},
                {"name": "operations", "description": "Health, readiness, dead letters"},
            ],
        )
    )
