"""Benchmark 8b: the national idle-devices list over the statistics benchmark's 250,000 devices.

The first page and a deep page (after the 100,000th idle device), each fetched by the service's
own code (`service.idle.idle_devices`, no HTTP), beside the same SQL replayed raw over asyncpg.
"""

from __future__ import annotations

import datetime as dt
import time
from functools import partial

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.rawsql import captured
from bench.report import Row
from bench.search import percentile
from shared_kit.pagination import encode_cursor
from statistics_service.config import StatisticsSettings
from statistics_service.repository.views import Area
from statistics_service.service import idle

CALLS = 60
LIMIT = 50
DEEP = 100_000
TARGET_P99_MS = 300.0


async def idle_page(
    session: AsyncSession, *, settings: StatisticsSettings, cursor: str | None
) -> None:
    """One page of the national idle-devices list, by the service's code."""
    now = dt.datetime.now(dt.UTC)
    await idle.idle_devices(session, area=Area(), settings=settings, now=now, idle_days=None,
                            kind="idle", cursor=cursor, limit=LIMIT)  # fmt: skip


IDLE_COUNT = "SELECT count(*) FROM device_usage WHERE idle_since IS NOT NULL"
NTH_IDLE = (
    "SELECT idle_since, device_id FROM device_usage WHERE idle_since IS NOT NULL "
    "ORDER BY idle_since, device_id OFFSET :n LIMIT 1"
)


async def deep_cursor(sessions: async_sessionmaker[AsyncSession]) -> tuple[str, int]:
    """The cursor after the DEEP-th idle device (or the last one), and how many are idle."""
    async with sessions() as session:
        idle_count = int(await session.scalar(text(IDLE_COUNT)) or 0)
        nth = {"n": min(DEEP, max(idle_count - 1, 0))}
        row = (await session.execute(text(NTH_IDLE), nth)).one()
    return encode_cursor([row.idle_since, row.device_id]), idle_count


async def usage_rows(
    url: str, sessions: async_sessionmaker[AsyncSession], settings: StatisticsSettings
) -> tuple[list[Row], str]:
    """p50/p99 of the first and a deep page, beside their SQL replayed raw."""
    from bench.statistics import sql_times  # the views' raw replay, shared

    cursor, idle_count = await deep_cursor(sessions)
    rows = []
    for name, at in (("first page", None), (f"page after {DEEP:,}", cursor)):
        call = partial(idle_page, settings=settings, cursor=at)
        times = []
        for n in range(CALLS + 1):
            started = time.perf_counter()
            async with sessions() as session:
                await call(session)
            if n:
                times.append((time.perf_counter() - started) * 1000)
        [statements] = await captured(url, [call])
        floor = await sql_times(url, statements)
        baseline = f"raw SQL: its {len(statements)} statement over asyncpg"
        p99 = percentile(times, 99)
        rows += [
            Row(f"Statistics: idle devices, national, {name}: p50", percentile(times, 50), "ms",
                "", None, percentile(floor, 50), baseline),
            Row(f"Statistics: idle devices, national, {name}: p99", p99, "ms",
                f"< {TARGET_P99_MS:.0f} ms", p99 < TARGET_P99_MS, percentile(floor, 99), baseline),
        ]  # fmt: skip
    note = (
        f"idle devices: the national list ({idle_count:,} idle of the benchmark's devices, "
        f"{LIMIT} a page, default threshold) by the service's code, {CALLS} calls each"
    )
    return rows, note
