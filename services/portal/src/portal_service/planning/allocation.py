"""The allocation's pages: the programme manager's rounds (`/planning/allocations`), their
schools, orders and deliveries, and each municipality's allocation in its console."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.planning import (
    allocation_console,
    allocation_follow,
    allocation_rounds,
    allocation_schools,
)

router = APIRouter()
for part in (allocation_rounds, allocation_schools, allocation_follow, allocation_console):
    router.include_router(part.router)
