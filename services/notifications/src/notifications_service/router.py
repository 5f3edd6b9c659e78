"""HTTP API of the notifications service: a person's notices, contact points, preferences."""

from __future__ import annotations

from fastapi import APIRouter

from notifications_service.routers import contacts, notices, preferences

router = APIRouter(prefix="/api/v1/notifications")
router.include_router(notices.router)
router.include_router(contacts.router)
router.include_router(preferences.router)
