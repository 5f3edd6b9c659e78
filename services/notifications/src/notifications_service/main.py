"""Notifications app factory: `uvicorn notifications_service.main:create_app --factory`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from notifications_service.config import NotificationsSettings
from notifications_service.consumers import build_consumers
from notifications_service.router import router
from notifications_service.workers import build_workers
from shared_kit.app import ServiceSpec, create_service_app
from shared_kit.clock import Clock, system_clock

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """
Tells each person what they must do next, once: a family that its reservation was approved,
that the agreement waits for their signature, that the device is ready to collect, that the
return is due; a school that requests wait for approval; a technician that an SLA is about to
break. It reads the reservations, contracts, tickets and identity events, decides who is told
what, and keeps every message as an in-portal notice; e-mail and SMS go out through its own
outbox with retries, to contact points the person entered and verified with a one-time code.
"""


def create_app(
    settings: NotificationsSettings | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the notifications service; `clock` replaces the system clock (tests move time)."""
    settings = settings or NotificationsSettings()
    clock = clock or system_clock
    return create_service_app(
        ServiceSpec(
            name="notifications",
            title="Notifications service",
            description=DESCRIPTION,
            settings=settings,
            routers=[router],
            migrations=MIGRATIONS,
            consumers=partial(build_consumers, clock=clock),
            workers=partial(build_workers, clock=clock),
            clock=clock,
            openapi_tags=[
                {"name": "notices", "description": "A person's in-portal notices"},
                {"name": "contact points", "description": "E-mail and mobile, verified"},
                {"name": "preferences", "description": "Kinds on or off, and their channels"},
                {"name": "deliveries", "description": "Failed deliveries, for platform admins"},
                {"name": "operations", "description": "Health, readiness, dead letters"},
            ],
        )
    )
