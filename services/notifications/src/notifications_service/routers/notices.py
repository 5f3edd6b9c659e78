"""A person's in-portal notices: list, unread count, read one, read all."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from notifications_service.deps import Person, Settings
from notifications_service.messages import render
from notifications_service.models import Notice
from notifications_service.schemas.notices import NoticeRead, UnreadCount
from notifications_service.service import notices as service
from shared_kit.deps import NowDep, SessionDep
from shared_kit.pagination import CursorParam, LimitParam, Page
from shared_kit.problems import problem_responses

router = APIRouter(prefix="/me/notices", tags=["notices"])
COMMON = problem_responses(401, 403, 422)


def notice_read(notice: Notice, language: str, portal_url: str) -> NoticeRead:
    """A notice written in the person's language."""
    text = render(notice.kind, notice.params, language, portal_url=portal_url, link=notice.link)
    return NoticeRead(
        id=notice.id,
        kind=notice.kind,
        title=text.subject,
        body=text.body,
        link=notice.link,
        created_at=notice.created_at,
        read_at=notice.read_at,
    )


@router.get("", responses=COMMON)
async def list_notices(
    session: SessionDep,
    person: Person,
    settings: Settings,
    cursor: CursorParam = None,
    limit: LimitParam = 20,
) -> Page[NoticeRead]:
    """The caller's notices, newest first."""
    rows, next_cursor = await service.page(
        session, person_id=person.subject, cursor=cursor, limit=limit
    )
    language = await service.language(session, person_id=person.subject)
    items = [notice_read(n, language, settings.portal_url) for n in rows]
    return Page[NoticeRead](items=items, next_cursor=next_cursor)


@router.get("/unread-count", responses=COMMON)
async def unread_count(session: SessionDep, person: Person) -> UnreadCount:
    """How many of the caller's notices are unread."""
    return UnreadCount(unread=await service.unread(session, person_id=person.subject))


@router.post("/read-all", status_code=status.HTTP_204_NO_CONTENT, responses=COMMON)
async def read_all(session: SessionDep, person: Person, now: NowDep) -> Response:
    """Every notice of the caller read."""
    await service.mark_all_read(session, person_id=person.subject, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{notice_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**COMMON, **problem_responses(404)},
)
async def read_one(
    notice_id: uuid.UUID, session: SessionDep, person: Person, now: NowDep
) -> Response:
    """One of the caller's notices read; anyone else's is not found."""
    await service.mark_read(session, person_id=person.subject, notice_id=notice_id, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
