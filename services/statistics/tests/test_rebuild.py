"""`statistics-rebuild`: the replayed tables equal the live ones, the swap keeps the schema, and
the live consumer goes on afterwards without counting anything twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared_kit.testing.kafka import eventually
from shared_kit.testing.migrations import migration_diff
from statistics_service import rebuild as rebuild_module
from statistics_service.config import StatisticsSettings
from statistics_service.models import PROJECTION_TABLES, STATE_TABLES, migration_metadata
from statistics_service.rebuild import IncompleteHistory, rebuild

from .conftest import Counters, apply_in_batches, random_history, recompute, sql, stored_counters
from .test_consumers import live_consumer, publish_all

Sessions = async_sessionmaker[AsyncSession]


async def state_rows(engine: AsyncEngine) -> dict[str, set[tuple[Any, ...]]]:
    """Every per-aggregate state row."""
    return {t.name: set(await sql(engine, f"SELECT * FROM {t.name}")) for t in STATE_TABLES}


async def test_rebuild_equals_the_live_read_model(
    sessions: Sessions, engine: AsyncEngine, settings: StatisticsSettings
) -> None:
    events = random_history(21, scale=2)
    first, later = events[:150], events[150:]
    await publish_all(settings, first)
    async with live_consumer(sessions, settings):

        async def caught_up() -> bool:
            return await stored_counters(engine) == recompute(first)

        await eventually(caught_up, timeout_s=40)
    live_counters, live_states = await stored_counters(engine), await state_rows(engine)

    report = await rebuild(settings, sessions=sessions, batch_size=40)

    assert report.events_read == len(first) and report.caught_up == 0
    assert await stored_counters(engine) == live_counters
    assert await state_rows(engine) == live_states
    assert await migration_diff(engine, migration_metadata()) == []  # same tables, indexes, keys
    keys = await sql(
        engine,
        "SELECT conrelid::regclass::text AS tbl, conname FROM pg_constraint "
        "WHERE contype = 'p' AND conrelid::regclass::text = ANY(:tables)",
        tables=[t.name for t in PROJECTION_TABLES],
    )
    assert sorted((k.tbl, k.conname) for k in keys) == sorted(
        (t.name, f"pk_{t.name}") for t in PROJECTION_TABLES
    )
    shadows = await sql(engine, "SELECT tablename FROM pg_tables WHERE tablename LIKE '%shadow'")
    assert shadows == []

    # The live consumer goes on from its group's offsets: nothing twice, nothing missing.
    await publish_all(settings, later)
    async with live_consumer(sessions, settings):

        async def all_applied() -> bool:
            return await stored_counters(engine) == recompute(events)

        await eventually(all_applied, timeout_s=40)


async def test_rebuild_catches_up_with_a_live_consumer_that_is_ahead(
    sessions: Sessions,
    engine: AsyncEngine,
    settings: StatisticsSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = random_history(22, scale=2)
    first, later = events[:100], events[100:]
    await publish_all(settings, first)

    async def counted(expected: Counters) -> bool:
        return await stored_counters(engine) == expected

    # Between the replay and the swap, more events arrive and the live consumer applies them:
    # the rebuild must read on to the topics' ends before it swaps.
    replayed = rebuild_module._apply_folded

    async def then_more_events(folded: Any, versions: Any, apply: Any, batch_size: int) -> None:
        monkeypatch.undo()  # once: the catch-up applies through the real one
        await replayed(folded, versions, apply, batch_size)
        await publish_all(settings, later)
        await eventually(partial(counted, recompute(events)), timeout_s=40)

    async with live_consumer(sessions, settings):
        await eventually(partial(counted, recompute(first)), timeout_s=40)
        monkeypatch.setattr(rebuild_module, "_apply_folded", then_more_events)
        report = await rebuild(settings, sessions=sessions, batch_size=1000)
        assert report.caught_up == len(later), report
        assert report.events_read == len(events)
        assert await stored_counters(engine) == recompute(events)
        more = random_history(23)
        await publish_all(settings, more)  # and the live consumer goes on into the new tables
        await eventually(partial(counted, recompute(events + more)), timeout_s=40)


async def test_rebuild_refuses_when_a_topic_is_missing(
    sessions: Sessions, engine: AsyncEngine, settings: StatisticsSettings
) -> None:
    events = random_history(23)[:20]
    facts_before = recompute(events)
    await apply_in_batches(sessions, events, 23)
    await publish_all(settings, events)
    elsewhere = settings.model_copy(update={"tickets_topic": settings.tickets_topic + ".gone"})
    with pytest.raises(IncompleteHistory, match="topics not found"):
        await rebuild(elsewhere, sessions=sessions)
    assert await stored_counters(engine) == facts_before  # the live tables are untouched


def test_the_command_line(settings: StatisticsSettings, engine: AsyncEngine) -> None:
    env = {
        **os.environ,
        "STATISTICS_DATABASE_URL": settings.database_url,
        "STATISTICS_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "STATISTICS_INVENTORY_TOPIC": settings.inventory_topic,
        "STATISTICS_RESERVATIONS_TOPIC": settings.reservations_topic,
        "STATISTICS_CONTRACTS_TOPIC": settings.contracts_topic,
        "STATISTICS_TICKETS_TOPIC": settings.tickets_topic,
        "STATISTICS_PLANNING_TOPIC": settings.planning_topic,
    }
    command = [str(Path(sys.executable).with_name("statistics-rebuild"))]  # the installed script
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "topics not found" in refused.stdout
    done = subprocess.run(
        [*command, "--allow-incomplete"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["events_read"] == 0
