"""Telling a person something: one notice per (cause, person), its deliveries planned once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.kinds import KINDS
from notifications_service.models import Notice
from notifications_service.repository import NoticeRepository
from notifications_service.service import fanout


@dataclass(frozen=True)
class Tell:
    """What one person is to be told, and why (an event id or a reminder's slot)."""

    kind: str
    person_id: str
    cause: str
    params: dict[str, Any] = field(default_factory=dict)
    link: str | None = None


async def tell(session: AsyncSession, message: Tell, *, now: dt.datetime) -> Notice | None:
    """Make the notice unless this cause told this person already; the new notice or None."""
    if message.kind not in KINDS:
        raise ValueError(f"unknown kind {message.kind}")
    if not message.person_id:
        return None
    notice = await NoticeRepository(session).add_once(
        {
            "person_id": message.person_id,
            "kind": message.kind,
            "cause": message.cause,
            "params": message.params,
            "link": message.link,
            "created_at": now,
        }
    )
    if notice is not None:
        await fanout.plan(session, notice, now=now)
    return notice


async def tell_each(
    session: AsyncSession, people: list[str], message: Tell, *, now: dt.datetime
) -> int:
    """Tell several people the same thing (one notice each); how many were new."""
    made = 0
    for person_id in people:
        copy = Tell(message.kind, person_id, message.cause, message.params, message.link)
        made += await tell(session, copy, now=now) is not None
    return made
