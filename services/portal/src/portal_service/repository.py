"""SQL of the portal: web sessions."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_service.models import WebSession


class WebSessionRepository:
    """Web sessions by the hash of their cookie."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: WebSession) -> WebSession:
        """Insert a session."""
        self.session.add(row)
        await self.session.flush()
        return row

    async def by_token(self, token_sha256: str, *, for_update: bool = False) -> WebSession | None:
        """The session whose cookie hashes to this value."""
        stmt = select(WebSession).where(WebSession.token_sha256 == token_sha256)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_for_update(self, session_id: uuid.UUID) -> WebSession | None:
        """The session, locked until the transaction ends (one token refresh at a time)."""
        stmt = (
            select(WebSession)
            .where(WebSession.id == session_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def remove(self, row: WebSession) -> None:
        """Delete a session."""
        await self.session.delete(row)
        await self.session.flush()

    async def delete_expired(self, now: dt.datetime, idle: dt.timedelta) -> int:
        """Delete sessions past their absolute or idle timeout; how many."""
        result = await self.session.execute(
            delete(WebSession).where(
                or_(WebSession.expires_at <= now, WebSession.last_seen_at <= now - idle)
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
