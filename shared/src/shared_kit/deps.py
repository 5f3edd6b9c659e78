"""Request-scoped dependencies every service uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.clock import Clock
from shared_kit.db import session_scope


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed before the response is sent (or rolled back)."""
    async for session in session_scope(request.app.state.sessions):
        yield session


# scope="function": the commit runs before the response leaves, so a failed commit
# becomes an error response instead of a success the database never saw.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def get_clock(request: Request) -> Clock:
    """The service's clock (`app.state.clock`, set by the app factory; tests move it)."""
    clock: Clock = request.app.state.clock
    return clock


def get_now(request: Request) -> datetime:
    """The time this request happens at, read once from the service's clock."""
    return get_clock(request)()


ClockDep = Annotated[Clock, Depends(get_clock)]
NowDep = Annotated[datetime, Depends(get_now)]
