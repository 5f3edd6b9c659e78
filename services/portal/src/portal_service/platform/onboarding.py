"""Onboarding a municipality (to be written)."""

from __future__ import annotations

from portal_service.web.pages import page_router

router = page_router()
