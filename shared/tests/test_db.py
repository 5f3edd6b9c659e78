"""Database helpers of the kit, on real PostgreSQL."""

from __future__ import annotations

import uuid

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from shared_kit.db import any_of
from shared_kit.events.consumer import InboxMessage
from shared_kit.events.outbox import OutboxMessage


class TestAnyOf:
    """`any_of` matches a column against any number of values in one statement."""

    async def test_more_values_than_a_statement_may_have_parameters(
        self, kit_database: str
    ) -> None:
        ids = [f"evt-{i}" for i in range(40_000)]
        rows = [{"consumer": "c", "event_id": i, "event_type": "t"} for i in ids[::2]]
        engine = create_async_engine(kit_database)
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(InboxMessage), rows)
                found = select(func.count()).where(any_of(InboxMessage.event_id, ids))
                assert await conn.scalar(found) == 20_000
        finally:
            await engine.dispose()

    async def test_other_types_and_no_values(self, kit_database: str) -> None:
        engine = create_async_engine(kit_database)
        try:
            async with engine.connect() as conn:
                uuids = [uuid.uuid4() for _ in range(40_000)]
                for condition in (
                    any_of(OutboxMessage.event_id, uuids),
                    any_of(OutboxMessage.seq, range(40_000)),
                    any_of(OutboxMessage.topic, []),
                ):
                    assert await conn.scalar(select(func.count()).where(condition)) == 0
        finally:
            await engine.dispose()
