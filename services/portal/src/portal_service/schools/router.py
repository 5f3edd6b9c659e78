"""The school administrator's pages under `/schools/` (one module per part)."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.schools import decisions, loans, overview

router = APIRouter()
for part in (overview, decisions, loans):
    router.include_router(part.router)
