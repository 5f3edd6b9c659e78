"""The migrations build exactly the tables the models describe, and carry the data along."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kit.db import create_engine
from shared_kit.migrations import upgrade
from shared_kit.testing.migrations import migration_diff
from statistics_service.config import DEFAULT_BANDS
from statistics_service.main import MIGRATIONS
from statistics_service.models import InstitutionSnapshot, migration_metadata
from statistics_service.repository.snapshots import SERIES_COLUMNS
from statistics_service.schemas import InstitutionSnapshotRecord
from statistics_service.service.figures import Raw, publish


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    assert await migration_diff(engine, migration_metadata()) == []


async def test_records_from_before_provisional_snapshots(
    make_database: Callable[[Path | None], Awaitable[str]],
) -> None:
    # Records were taken once, at the start of their day: the newest day's may be today's, so
    # they become provisional (the next snapshot run refreshes them or makes them final).
    url = await make_database(None)
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0002")
    engine = create_engine(url, pool_size=1)
    try:
        for seq, day in enumerate(("2026-09-01", "2026-09-02"), start=1):
            await _insert_legacy_record(engine, seq, dt.date.fromisoformat(day))
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT provisional, record FROM institution_snapshot ORDER BY seq")
                )
            ).all()
    finally:
        await engine.dispose()
    assert [r.provisional for r in rows] == [False, True]
    records = [InstitutionSnapshotRecord.model_validate(r.record) for r in rows]
    assert [r.provisional for r in records] == [False, True]
    # … and, from 0004 on, usage figures, not measured for them (null).
    assert {r.schema_version for r in records} == {"1.2.0"}
    assert [r.figures.usage for r in records] == [None, None]


async def _insert_legacy_record(engine: AsyncEngine, seq: int, day: dt.date) -> None:
    """A record as schema 1.0.0 had it (no `provisional`)."""
    record = InstitutionSnapshotRecord(
        sequence=seq,
        snapshot_date=day,
        provisional=False,
        taken_at=dt.datetime.combine(day, dt.time(), dt.UTC),
        municipality_code="0010000",
        institution_registration_number="3113900101",
        institution_name=None,
        figures=publish(Raw(), DEFAULT_BANDS, 5),
    ).model_dump(mode="json")
    del record["provisional"]
    del record["figures"]["usage"]
    record["schema_version"] = "1.0.0"
    columns = {c: 0 for c in SERIES_COLUMNS}
    async with engine.begin() as conn:
        await conn.execute(
            insert(InstitutionSnapshot.__table__).values(
                seq=seq,
                snapshot_date=day,
                municipality_code="0010000",
                institution_number="3113900101",
                record=record,
                **columns,
            )
        )
