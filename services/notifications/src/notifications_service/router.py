"""HTTP API of the notifications service: notices, contact points, preferences, deliveries."""

from __future__ import annotations

from fastapi import APIRouter

from notifications_service.routers import contacts, deliveries, notices, preferences

router = APIRouter(prefix="/api/v1/notifications")
router.include_router(notices.router)
router.include_router(contacts.router)
router.include_router(preferences.router)
router.include_router(deliveries.router)
