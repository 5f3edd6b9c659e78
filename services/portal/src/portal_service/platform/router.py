"""The platform administrator's pages under `/platform/` (one module per part)."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.platform import deliveries, municipalities, onboarding

router = APIRouter()
router.include_router(deliveries.router)
router.include_router(onboarding.router)
router.include_router(municipalities.router)
