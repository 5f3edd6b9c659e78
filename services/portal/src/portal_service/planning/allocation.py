"""Allocation pages (filled by their owner)."""

from __future__ import annotations

from portal_service.web.pages import page_router

router = page_router()
