"""SQL of the portal: web sessions and form drafts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import NamedTuple

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from portal_service.models import DraftFile, FormDraft, WebSession


class DraftFileInfo(NamedTuple):
    """A draft's file without its content."""

    id: uuid.UUID
    filename: str
    media_type: str
    size: int


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


class DraftRepository:
    """Multi-page forms' answers so far and their uploaded files."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, session_id: uuid.UUID, flow: str) -> FormDraft | None:
        """The session's draft of a form, if it has one."""
        stmt = select(FormDraft).where(FormDraft.session_id == session_id, FormDraft.flow == flow)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def open(self, session_id: uuid.UUID, flow: str) -> FormDraft:
        """The session's draft of a form, made when it has none (two tabs make one)."""
        stmt = (
            insert(FormDraft)
            .values(id=uuid.uuid4(), session_id=session_id, flow=flow, answers={})
            .on_conflict_do_nothing(index_elements=["session_id", "flow"])
        )
        await self.session.execute(stmt)
        found = await self.get(session_id, flow)
        assert found is not None
        return found

    async def files(self, draft_id: uuid.UUID) -> list[DraftFileInfo]:
        """The draft's files without their content, in upload order."""
        stmt = (
            select(DraftFile.id, DraftFile.filename, DraftFile.media_type, DraftFile.size)
            .where(DraftFile.draft_id == draft_id)
            .order_by(DraftFile.position, DraftFile.created_at)
        )
        return [DraftFileInfo(*row) for row in (await self.session.execute(stmt)).all()]

    async def contents(self, draft_id: uuid.UUID) -> list[DraftFile]:
        """The draft's files with their content, in upload order."""
        stmt = (
            select(DraftFile)
            .where(DraftFile.draft_id == draft_id)
            .order_by(DraftFile.position, DraftFile.created_at)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def add_file(self, row: DraftFile) -> None:
        """Keep one more file."""
        self.session.add(row)
        await self.session.flush()

    async def remove_file(self, draft_id: uuid.UUID, file_id: uuid.UUID) -> None:
        """Forget one file of the draft (nothing when it has no such file)."""
        await self.session.execute(
            delete(DraftFile).where(DraftFile.draft_id == draft_id, DraftFile.id == file_id)
        )

    async def remove(self, draft: FormDraft) -> None:
        """Forget the draft and its files."""
        await self.session.execute(delete(FormDraft).where(FormDraft.id == draft.id))

    async def delete_stale(self, before: dt.datetime) -> int:
        """Delete drafts not touched since `before`; how many."""
        result = await self.session.execute(delete(FormDraft).where(FormDraft.updated_at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
