"""HTTP API of the notifications service."""

from __future__ import annotations

from fastapi import APIRouter

from notifications_service.api import notices

router = APIRouter(prefix="/api/v1/notifications")
router.include_router(notices.router)
