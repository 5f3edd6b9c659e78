"""Planning app factory: `uvicorn planning_service.main:create_app --factory`."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.config import PlanningSettings
from planning_service.consumers import build_consumers
from planning_service.router import router
from planning_service.service import survey_retention
from planning_service.viis import LearnerCache, ViisFactory, http_viis
from shared_kit.app import ServiceSpec, create_service_app
from shared_kit.clock import Clock, system_clock
from shared_kit.housekeeping import Purge

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """
The two steps that come before a procurement. The **needs survey**: in a survey round (a
municipality for its schools, or the ministry nationally) guardians say for each child whether
the family has a suitable computer and internet at home and which of the programme's priority
criteria apply (01 low income, 02 single parent, 03 three or more children or a disabled child);
schools record paper answers and attest, municipalities verify from welfare data. The answers
are personal data (one is health data): stored encrypted, readable by the family and the staff
of the child's school and municipality only, every staff read audited, deleted after the
round's retention period; results are aggregates with counts of 1-4 suppressed. A verified
criterion raises the child's reservation priority (an event with the criterion and its source,
never the answers). The **allocation**: an allocation round spreads a procurement's devices over
municipalities and schools by need, from inputs it stores (pupils from VIIS, devices held from
the inventory's events, the survey's results), exactly (largest remainder) and explained per
school; the programme manager adjusts with a reason and publishes; municipalities move devices
between their own schools; deliveries with the round's order reference count against it.
"""


def retention_job(settings: PlanningSettings, clock: Clock) -> Purge:
    """Housekeeping step: delete the answers of rounds past their retention."""

    # The housekeeper's own "now" is the system's; retention reads the service's clock.
    async def expire(session: AsyncSession, _: dt.datetime) -> dict[str, int]:
        return await survey_retention.delete_expired_answers(
            session, now=clock(), timezone=settings.timezone, limit=settings.retention_batch_size
        )

    return expire


def create_app(
    settings: PlanningSettings | None = None,
    clock: Clock | None = None,
    viis: ViisFactory | None = None,
) -> FastAPI:
    """Build the planning service; `clock` and `viis` replace the system clock and VIIS."""
    settings = settings or PlanningSettings()
    clock = clock or system_clock
    viis = viis or http_viis(settings)
    app = create_service_app(
        ServiceSpec(
            name="planning",
            title="Planning service",
            description=DESCRIPTION,
            settings=settings,
            routers=[router],
            migrations=MIGRATIONS,
            consumers=partial(build_consumers, clock=clock),
            housekeeping=[retention_job(settings, clock)],
            clock=clock,
            openapi_tags=[
                {"name": "survey rounds", "description": "Needs-survey rounds and their schools"},
                {"name": "answers", "description": "The families' answers, per child"},
                {"name": "verification", "description": "Attested and verified criteria"},
                {"name": "survey results", "description": "Aggregates with small counts hidden"},
                {"name": "allocation rounds", "description": "Procurements spread by need"},
                {"name": "operations", "description": "Health, readiness, dead letters"},
            ],
        )
    )
    app.state.viis = viis
    app.state.learners = LearnerCache(viis)
    return app
