"""SQL of notices and recipients: what a person was told, and their language."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.kinds import Channel
from notifications_service.models import (
    Notice,
    Recipient,
)
from shared_kit.pagination import KeyColumn, decode_cursor

# The deliveries only when the notice is new: they select from what the insert returned.
_NOTICE_WITH_DELIVERIES = text(
    "WITH notice AS ("
    " INSERT INTO notice (id, person_id, kind, cause, params, link, created_at)"
    " VALUES (:id, :person_id, :kind, :cause, CAST(:params AS jsonb), :link, :created_at)"
    " ON CONFLICT (cause, person_id) DO NOTHING RETURNING id, person_id"
    "), delivery AS ("
    " INSERT INTO delivery (id, notice_id, person_id, channel, next_attempt_at)"
    " SELECT d.id, notice.id, notice.person_id, d.channel, d.due FROM notice,"
    " unnest(CAST(:delivery_ids AS uuid[]), CAST(:channels AS channel[]),"
    " CAST(:due AS timestamptz[])) AS d(id, channel, due)"
    " ON CONFLICT (notice_id, channel) DO NOTHING"
    ") SELECT id FROM notice"
)


class NoticeRepository:
    """A person's notices."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_once(self, values: dict[str, Any]) -> Notice | None:
        """Insert a notice unless its (cause, person) exists; the new notice or None."""
        stmt = (
            insert(Notice)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=[Notice.cause, Notice.person_id])
            .returning(Notice)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def add_once_with_deliveries(
        self, values: dict[str, Any], due: dict[Channel, dt.datetime]
    ) -> uuid.UUID | None:
        """Insert a notice and its deliveries (channel → when due) in one statement unless
        its (cause, person) exists; the new notice's id or None (and no deliveries)."""
        channels = sorted(due)
        return await self.session.scalar(
            _NOTICE_WITH_DELIVERIES,
            {
                **values,
                "id": uuid.uuid4(),
                "params": json.dumps(values["params"]),
                "delivery_ids": [uuid.uuid4() for _ in channels],
                "channels": [c.value for c in channels],
                "due": [due[c] for c in channels],
            },
        )

    async def page(self, person_id: str, cursor: str | None, limit: int) -> Sequence[Notice]:
        """One page of a person's notices, newest first (plus one row to tell more follow)."""
        key: list[KeyColumn] = [Notice.created_at, Notice.id]
        stmt = select(Notice).where(Notice.person_id == person_id)
        if cursor:
            stmt = stmt.where(tuple_(*key) < tuple_(*decode_cursor(cursor, key)))
        stmt = stmt.order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit + 1)
        return (await self.session.scalars(stmt)).all()

    async def unread(self, person_id: str) -> int:
        """How many of a person's notices are unread."""
        stmt = select(func.count()).where(Notice.person_id == person_id, Notice.read_at.is_(None))
        return int(await self.session.scalar(stmt) or 0)

    async def own(self, person_id: str, notice_id: uuid.UUID) -> Notice | None:
        """A notice of this person (None for anyone else's)."""
        stmt = select(Notice).where(Notice.id == notice_id, Notice.person_id == person_id)
        return (await self.session.scalars(stmt)).one_or_none()

    async def mark_all_read(self, person_id: str, now: dt.datetime) -> None:
        """Every unread notice of a person read now."""
        await self.session.execute(
            update(Notice)
            .where(Notice.person_id == person_id, Notice.read_at.is_(None))
            .values(read_at=now)
        )

    async def of_cause(self, cause: str) -> Sequence[Notice]:
        """Notices made for one cause (tests and diagnostics)."""
        return (await self.session.scalars(select(Notice).where(Notice.cause == cause))).all()


class RecipientRepository:
    """People's languages."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def language(self, person_id: str) -> str | None:
        """The language a person chose, if they did."""
        return await self.session.scalar(
            select(Recipient.language).where(Recipient.person_id == person_id)
        )
