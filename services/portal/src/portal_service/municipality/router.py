"""The municipality's console under `/municipality/` (one module per section)."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.municipality import (
    catalogue,
    dashboard,
    deliveries,
    devices,
    lenders,
    platforms,
    policies,
    staff,
)

router = APIRouter()
for section in (dashboard, devices, deliveries, catalogue, lenders, policies, staff, platforms):
    router.include_router(section.router)
