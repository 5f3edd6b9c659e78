"""The planning pages: `/planning` (programme manager), and the survey's pages of families,
schools and municipalities (one module per part)."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.planning import allocation, landing, survey

router = APIRouter()
for part in (landing, survey, allocation):
    router.include_router(part.router)
