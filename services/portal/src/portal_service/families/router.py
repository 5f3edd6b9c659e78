"""The families' pages: reserve, sign, report (one module each)."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.families import report, reserve, sign, tickets

router = APIRouter()
for part in (reserve, sign, report, tickets):
    router.include_router(part.router)
