"""Housekeeping keeps the kit's tables bounded and leaves what is still needed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from shared_kit.db import create_engine, create_session_factory
from shared_kit.events.consumer import InboxMessage
from shared_kit.events.outbox import OutboxMessage
from shared_kit.housekeeping import purge_once
from shared_kit.idempotency import IdempotencyRecord
from shared_kit.settings import ServiceSettings


async def test_purges_only_what_is_past_retention(kit_database: str) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=60), now - timedelta(minutes=5)
    engine = create_engine(kit_database)
    sessions = create_session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(
            insert(OutboxMessage),
            [_outbox(published_at=old), _outbox(published_at=recent), _outbox(published_at=None)],
        )
        await session.execute(
            insert(InboxMessage),
            [
                {"consumer": "c", "event_id": "old", "event_type": "t", "received_at": old},
                {"consumer": "c", "event_id": "new", "event_type": "t", "received_at": recent},
            ],
        )
        await session.execute(
            insert(IdempotencyRecord), [_record("old", old), _record("new", recent)]
        )
    deleted = await purge_once(sessions, ServiceSettings(database_url=kit_database), now)
    assert deleted == {"outbox": 1, "inbox": 1, "idempotency": 1}
    async with sessions() as session:
        unpublished = await session.scalar(
            select(func.count()).where(OutboxMessage.published_at.is_(None))
        )
        left = await session.scalar(select(func.count()).select_from(OutboxMessage))
    await engine.dispose()
    assert (unpublished, left) == (1, 2)  # an unpublished event is never purged


def _outbox(published_at: datetime | None) -> dict[str, object]:
    return {
        "event_id": uuid.uuid4(),
        "topic": "t",
        "key": "k",
        "event_type": "t",
        "headers": [],
        "payload": b"{}",
        "published_at": published_at,
    }


def _record(key: str, created_at: datetime) -> dict[str, object]:
    return {
        "owner": "o",
        "key": key,
        "request_hash": "h",
        "status_code": 201,
        "body": {},
        "headers": {},
        "created_at": created_at,
    }
