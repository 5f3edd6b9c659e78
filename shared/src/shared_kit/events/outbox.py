"""Transactional outbox: events are rows written in the same transaction as the change."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Identity,
    Index,
    LargeBinary,
    String,
    event,
    func,
    insert,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared_kit.db import OUTBOX_TOPIC, Base
from shared_kit.events.envelope import CloudEvent


class OutboxMessage(Base):
    """An event waiting for (or past) publication; `seq` fixes the publication order."""

    __tablename__ = "outbox_message"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(200))
    headers: Mapped[list[list[str]]] = mapped_column(JSONB)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "ix_outbox_message_unpublished",
            "seq",
            postgresql_where=published_at.is_(None),
        ),
    )


_PENDING = "outbox_pending"
_wakeups: set[asyncio.Event] = set()


def outbox_topic(session: AsyncSession) -> str:
    """The topic this session's events go to (set on the session factory)."""
    topic = session.info.get(OUTBOX_TOPIC)
    if not topic:
        raise RuntimeError("this session's factory has no outbox topic (create_session_factory)")
    return str(topic)


def _row(topic: str, evt: CloudEvent) -> dict[str, Any]:
    return {
        "event_id": uuid.UUID(evt.id),
        "topic": topic,
        "key": evt.subject,
        "event_type": evt.type,
        "headers": [[k, v.decode()] for k, v in evt.kafka_headers()],
        "payload": evt.kafka_value(),
    }


def add_event(session: AsyncSession, evt: CloudEvent) -> None:
    """Queue an event in the caller's transaction; it is published only if that commits."""
    session.add(OutboxMessage(**_row(outbox_topic(session), evt)))
    session.info[_PENDING] = True


def outbox_values(session: AsyncSession, evt: CloudEvent) -> dict[str, Any]:
    """An outbox row's column values for the caller's own INSERT (a change and its event in
    one statement); the caller runs it in this session's transaction, as `add_event` would."""
    session.info[_PENDING] = True
    return _row(outbox_topic(session), evt)


async def add_events(session: AsyncSession, evts: list[CloudEvent]) -> None:
    """Queue many events at once (bulk imports); same transaction rules as `add_event`."""
    topic = outbox_topic(session)
    rows = [_row(topic, e) for e in evts]
    for start in range(0, len(rows), 2000):
        await session.execute(insert(OutboxMessage), rows[start : start + 2000])
    if rows:
        session.info[_PENDING] = True


def subscribe_wakeup() -> asyncio.Event:
    """An event set whenever a transaction that wrote outbox rows commits in this process."""
    wakeup = asyncio.Event()
    _wakeups.add(wakeup)
    return wakeup


def unsubscribe_wakeup(wakeup: asyncio.Event) -> None:
    """Stop waking this relay."""
    _wakeups.discard(wakeup)


@event.listens_for(Session, "after_commit")
def _wake_relays(session: Session) -> None:
    # The relay would find the rows on its next poll anyway; this only cuts latency.
    if session.info.pop(_PENDING, False):
        for wakeup in _wakeups:
            wakeup.set()


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def kafka_headers(stored: list[list[str]]) -> list[tuple[str, bytes]]:
    """Kafka headers from an outbox row's stored `headers` column."""
    return [(k, v.encode()) for k, v in stored]
