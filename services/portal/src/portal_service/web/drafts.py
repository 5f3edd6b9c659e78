"""A multi-page form's answers and uploaded photos, kept server-side until the form is sent.

One draft per web session and form; it goes with the session (and housekeeping removes one
left longer than a session can live). Photos are checked and cleaned with the kit's `uploads`
as they arrive (decoded JPEG, PNG or WebP, re-encoded without metadata, so no GPS position of
a home is kept even for a while), at most `photo_max_count` of `photo_max_bytes` each; the
service the form is sent to checks them again and decides.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from portal_service.config import PortalSettings
from portal_service.models import DraftFile
from portal_service.repository import DraftFileInfo, DraftRepository
from shared_kit import uploads
from shared_kit.problems import ProblemError


class Draft:
    """One person's draft of one form."""

    def __init__(self, session: AsyncSession, web_session_id: uuid.UUID, flow: str) -> None:
        self._repo = DraftRepository(session)
        self._session_id, self._flow = web_session_id, flow

    async def answers(self) -> dict[str, Any]:
        """The answers given so far (empty without a draft)."""
        row = await self._repo.get(self._session_id, self._flow)
        return dict(row.answers) if row is not None else {}

    async def save(self, **answers: Any) -> None:
        """Keep these answers beside the earlier ones."""
        row = await self._repo.open(self._session_id, self._flow)
        row.answers = {**row.answers, **answers}
        row.updated_at = dt.datetime.now(dt.UTC)

    async def files(self) -> list[DraftFileInfo]:
        """The photos kept so far (no content)."""
        row = await self._repo.get(self._session_id, self._flow)
        return await self._repo.files(row.id) if row is not None else []

    async def contents(self) -> list[DraftFile]:
        """The photos kept so far, with their content."""
        row = await self._repo.get(self._session_id, self._flow)
        return await self._repo.contents(row.id) if row is not None else []

    async def add_photos(self, photos: list[uploads.Photo]) -> None:
        """Keep cleaned photos after the ones already kept."""
        row = await self._repo.open(self._session_id, self._flow)
        start = len(await self._repo.files(row.id))
        for i, photo in enumerate(photos):
            await self._repo.add_file(
                DraftFile(
                    id=uuid.uuid4(),
                    draft_id=row.id,
                    position=start + i,
                    filename=photo.filename[:255],
                    media_type=photo.media_type,
                    size=photo.size,
                    content=photo.content,
                )
            )
        row.updated_at = dt.datetime.now(dt.UTC)

    async def keep_file(self, filename: str, media_type: str, content: bytes) -> None:
        """Keep one file in place of any kept before (a delivery's CSV between its steps)."""
        row = await self._repo.open(self._session_id, self._flow)
        for kept in await self._repo.files(row.id):
            await self._repo.remove_file(row.id, kept.id)
        await self._repo.add_file(
            DraftFile(
                id=uuid.uuid4(),
                draft_id=row.id,
                position=0,
                filename=filename[:255],
                media_type=media_type,
                size=len(content),
                content=content,
            )
        )
        row.updated_at = dt.datetime.now(dt.UTC)

    async def remove_file(self, file_id: uuid.UUID) -> None:
        """Forget one photo."""
        row = await self._repo.get(self._session_id, self._flow)
        if row is not None:
            await self._repo.remove_file(row.id, file_id)

    async def discard(self) -> None:
        """Forget the whole draft (the form was sent, or abandoned)."""
        row = await self._repo.get(self._session_id, self._flow)
        if row is not None:
            await self._repo.remove(row)


def chosen_files(values: list[Any]) -> list[UploadFile]:
    """The files a file input sent (a browser sends an empty part when none was chosen)."""
    return [v for v in values if isinstance(v, UploadFile) and (v.filename or v.size)]


@dataclass(frozen=True)
class RefusedPhoto:
    """Why a photo was refused: the kit's problem type (the tickets API's too) and its name."""

    type: str
    filename: str


async def clean_photos(
    files: list[UploadFile], *, max_bytes: int
) -> tuple[list[uploads.Photo], RefusedPhoto | None]:
    """The uploaded files as cleaned photos, or why the first bad one was refused."""
    photos = []
    for upload in await uploads.receive(files, max_bytes):
        try:
            photos.append(await asyncio.to_thread(uploads.clean, upload, max_bytes=max_bytes))
        except ProblemError as problem:
            return [], RefusedPhoto(problem.type, upload.filename or "")
    return photos, None


def drafts_purge(
    settings: PortalSettings,
) -> Callable[[AsyncSession, dt.datetime], Awaitable[dict[str, int]]]:
    """Housekeeping: delete drafts older than a session can live (their sessions are gone)."""
    age = dt.timedelta(seconds=settings.session_absolute_timeout_s)

    async def purge(session: AsyncSession, at: dt.datetime) -> dict[str, int]:
        return {"form_drafts": await DraftRepository(session).delete_stale(at - age)}

    return purge
