"""Telling a person something (one notice per cause and person, its deliveries planned once),
and the person reading their own notices."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service import wakeup
from notifications_service.exceptions import NoticeNotFound
from notifications_service.kinds import KINDS
from notifications_service.models import Notice
from notifications_service.repository.notices import NoticeRepository, RecipientRepository
from notifications_service.service import fanout
from shared_kit.pagination import page_of


@dataclass(frozen=True)
class Tell:
    """What one person is to be told, and why (an event id or a reminder's slot)."""

    kind: str
    person_id: str
    cause: str
    params: dict[str, Any] = field(default_factory=dict)
    link: str | None = None


async def tell(session: AsyncSession, message: Tell, *, now: dt.datetime) -> uuid.UUID | None:
    """Make the notice and its deliveries unless this cause told this person already; the
    new notice's id or None."""
    if message.kind not in KINDS:
        raise ValueError(f"unknown kind {message.kind}")
    if not message.person_id:
        return None
    due = await fanout.due(session, message.person_id, message.kind, now=now)
    notice_id = await NoticeRepository(session).add_once_with_deliveries(
        {
            "person_id": message.person_id,
            "kind": message.kind,
            "cause": message.cause,
            "params": message.params,
            "link": message.link,
            "created_at": now,
        },
        due,
    )
    if notice_id is not None and due:
        wakeup.deliveries_added(session)
    return notice_id


async def tell_each(
    session: AsyncSession, people: list[str], message: Tell, *, now: dt.datetime
) -> int:
    """Tell several people the same thing (one notice each); how many were new."""
    made = 0
    for person_id in people:
        copy = Tell(message.kind, person_id, message.cause, message.params, message.link)
        made += await tell(session, copy, now=now) is not None
    return made


# A person's own notices ---------------------------------------------------------------------


async def page(
    session: AsyncSession, *, person_id: str, cursor: str | None, limit: int
) -> tuple[list[Notice], str | None]:
    """One page of a person's notices, newest first, and the cursor of the next."""
    rows = await NoticeRepository(session).page(person_id, cursor, limit)
    return page_of(rows, limit, lambda n: (n.created_at, n.id))


async def language(session: AsyncSession, *, person_id: str) -> str:
    """The language a person reads in (Latvian unless they chose English)."""
    return await RecipientRepository(session).language(person_id) or "lv"


async def unread(session: AsyncSession, *, person_id: str) -> int:
    """How many of a person's notices are unread."""
    return await NoticeRepository(session).unread(person_id)


async def mark_read(
    session: AsyncSession, *, person_id: str, notice_id: uuid.UUID, now: dt.datetime
) -> None:
    """One of the person's own notices read (the first reading counts)."""
    notice = await NoticeRepository(session).own(person_id, notice_id)
    if notice is None:
        raise NoticeNotFound(f"You have no notice {notice_id}")
    notice.read_at = notice.read_at or now


async def mark_all_read(session: AsyncSession, *, person_id: str, now: dt.datetime) -> None:
    """Every unread notice of the person read."""
    await NoticeRepository(session).mark_all_read(person_id, now)
