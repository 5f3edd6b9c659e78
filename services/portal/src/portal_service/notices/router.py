"""The notification pages: the person's notices, contact details, notification settings."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.notices import contact, inbox, preferences

router = APIRouter()
for part in (inbox, contact, preferences):
    router.include_router(part.router)
