"""The ministry's pages under `/ministry/`."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.ministry import dashboard

router = APIRouter()
router.include_router(dashboard.router)
