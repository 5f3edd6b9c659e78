"""A new notice's deliveries: one per channel the person wants it by and can be reached on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.models import Notice


async def plan(session: AsyncSession, notice: Notice, *, now: dt.datetime) -> None:
    """Add the deliveries of `notice` in the caller's transaction (placeholder: none yet)."""
