"""Every area's pages, in one list for the app factory."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.families.router import router as families_router
from portal_service.help.router import router as help_router
from portal_service.home.router import router as home_router
from portal_service.ministry.router import router as ministry_router
from portal_service.municipality.router import router as municipality_router
from portal_service.notices.router import router as notices_router
from portal_service.planning.router import router as planning_router
from portal_service.platform.router import router as platform_router
from portal_service.schools.router import router as schools_router
from portal_service.start.router import router as start_router
from portal_service.support.router import router as support_router

ROUTERS: list[APIRouter] = [
    start_router,
    home_router,
    families_router,
    schools_router,
    support_router,
    municipality_router,
    ministry_router,
    planning_router,
    notices_router,
    platform_router,
    help_router,
]
