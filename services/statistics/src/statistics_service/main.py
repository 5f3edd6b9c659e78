"""Statistics app factory: `uvicorn statistics_service.main:create_app --factory`."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.app import ServiceSpec, create_service_app
from shared_kit.clock import Clock, system_clock
from shared_kit.housekeeping import Purge
from shared_kit.viis import HttpViisDirectory, ViisSchoolRegister
from statistics_service import allocations_router
from statistics_service.config import StatisticsSettings
from statistics_service.consumers import build_consumers
from statistics_service.router import router
from statistics_service.service import pupils, snapshots
from statistics_service.service.pupils import ViisFactory
from statistics_service.service.views import ViewCache

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """
How many devices, where, used how, against the programme's 2025 target (one device per three
pupils in grades 1-3). A read side built only from the other services' events (inventory,
reservations, contracts, tickets): it owns no source of truth. Pupil counts come from VIIS.
Views for the country, a municipality and an institution; daily snapshots as time series and
CSV; the VIIS feed of daily institution snapshots (scope `statistics:feed`). Counts of loans by
social criterion between 1 and 4 are suppressed.
"""


def http_viis(settings: StatisticsSettings) -> ViisFactory:
    """Opens the HTTP VIIS client (the same one the gateway uses)."""

    def open_client() -> AbstractAsyncContextManager[ViisSchoolRegister]:
        key = settings.viis_api_key.get_secret_value()
        return HttpViisDirectory(settings.viis_url, key, timeout_s=settings.viis_timeout_s)

    return open_client


def pupils_job(settings: StatisticsSettings, clock: Clock, viis: ViisFactory) -> Purge:
    """Housekeeping step: refresh pupil counts from VIIS when they are older than the interval."""

    async def refresh(session: AsyncSession, _: dt.datetime) -> dict[str, int]:
        return await pupils.refresh_when_due(
            session,
            open_viis=viis,
            now=clock(),
            interval_s=settings.pupils_refresh_interval_s,
            concurrency=settings.viis_concurrency,
        )

    return refresh


def snapshot_job(settings: StatisticsSettings, clock: Clock) -> Purge:
    """Housekeeping step: refresh today's provisional snapshots, make closed days final."""

    async def snapshot(session: AsyncSession, _: dt.datetime) -> dict[str, int]:
        return {
            "snapshots": await snapshots.take_daily_snapshots(
                session, settings=settings, now=clock()
            )
        }

    return snapshot


def create_app(
    settings: StatisticsSettings | None = None,
    clock: Clock | None = None,
    viis: ViisFactory | None = None,
) -> FastAPI:
    """Build the statistics service; `clock` and `viis` replace the system clock and VIIS."""
    settings = settings or StatisticsSettings()
    clock = clock or system_clock
    viis = viis or http_viis(settings)
    app = create_service_app(
        ServiceSpec(
            name="statistics",
            title="Statistics service",
            description=DESCRIPTION,
            settings=settings,
            routers=[router, allocations_router.router],
            migrations=MIGRATIONS,
            clock=clock,
            consumers=build_consumers,
            # Pupils first, so the first snapshot of a day has fresh counts.
            housekeeping=[pupils_job(settings, clock, viis), snapshot_job(settings, clock)],
            openapi_tags=[
                {"name": "views", "description": "National, municipality, institution views"},
                {
                    "name": "allocations",
                    "description": "Planning's allocation rounds: allocated, ordered, delivered",
                },
                {"name": "usage", "description": "Idle and never-lent devices"},
                {"name": "history", "description": "Daily snapshots: time series and CSV"},
                {"name": "feed", "description": "The VIIS feed and its JSON Schema"},
                {"name": "operations", "description": "Health, jobs, dead letters"},
            ],
        )
    )
    app.state.viis = viis
    app.state.view_cache = ViewCache()
    return app
