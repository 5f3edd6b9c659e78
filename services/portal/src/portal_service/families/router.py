"""The families' pages: reserve, sign, report (one module each)."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.families import report, reserve, sign

router = APIRouter()
for part in (reserve, sign, report):
    router.include_router(part.router)
