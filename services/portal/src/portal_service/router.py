"""Every area's pages, in one list for the app factory."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.help.router import router as help_router
from portal_service.home.router import router as home_router
from portal_service.start.router import router as start_router

ROUTERS: list[APIRouter] = [start_router, home_router, help_router]
