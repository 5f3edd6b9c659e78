"""Benchmark 1: CSV import of 10,000 devices through `POST /devices/imports`.

Beside each import, the same 10,000 device rows (read back from `device`) are written by
asyncpg COPY into a scratch table made `LIKE device INCLUDING ALL` (same columns, defaults,
indexes, unique and check constraints; no foreign keys), which then holds the same rows as
`device`: the raw SQL floor of writing them.
"""

from __future__ import annotations

import time

import asyncpg
import httpx

from bench.dataset import delivery, import_delivery, serial_range
from bench.rawsql import asyncpg_dsn
from bench.report import Row
from shared_kit.testing.tokens import TokenIssuer

ROWS_PER_IMPORT = 10_000
IMPORTS = 10
TARGET_S = 5.0
SCRATCH = "bench_device_copy"
RAW = "raw SQL: asyncpg COPY of the same device rows"


async def timed_import(client: httpx.AsyncClient, issuer: TokenIssuer, batch: int) -> float:
    """Seconds one 10k-row import takes, request to response."""
    d = delivery(issuer, batch, ROWS_PER_IMPORT)
    started = time.perf_counter()
    await import_delivery(client, d)
    return time.perf_counter() - started


async def timed_copy(conn: asyncpg.Connection, batch: int) -> float:
    """Seconds to COPY the device rows import `batch` created into the scratch table."""
    records = await conn.fetch(
        "SELECT * FROM device WHERE serial_number >= $1 AND serial_number < $2",
        *serial_range(batch),
    )
    started = time.perf_counter()
    await conn.copy_records_to_table(SCRATCH, records=records, columns=list(records[0].keys()))
    return time.perf_counter() - started


async def load_devices(
    client: httpx.AsyncClient, issuer: TokenIssuer, conn: asyncpg.Connection
) -> tuple[list[float], list[float]]:
    """Import all deliveries in turn, each followed by its raw copy; the seconds of each."""
    durations, copies = [], []
    for batch in range(IMPORTS):
        durations.append(await timed_import(client, issuer, batch))
        copies.append(await timed_copy(conn, batch))
        print(
            f"  import {batch + 1}/{IMPORTS}: {durations[-1]:.2f} s (raw COPY {copies[-1]:.2f} s)",
            flush=True,
        )
    return durations, copies


def rows_for(durations: list[float], copies: list[float]) -> list[Row]:
    """The first import (empty table), the last one (90k devices already), and the total."""
    total = ROWS_PER_IMPORT * len(durations)
    present = total - ROWS_PER_IMPORT
    return [
        timed_row("CSV import 10k devices (empty table)", durations[0], copies[0]),
        timed_row(f"CSV import 10k devices ({present:,} present)", durations[-1], copies[-1]),
        Row(
            f"CSV load of {total:,} devices ({len(durations)} imports)",
            sum(durations),
            "s",
            baseline=sum(copies),
            baseline_name=RAW,
        ),
    ]


def timed_row(name: str, seconds: float, raw_s: float) -> Row:
    """An import duration against the target and its raw copy."""
    ok = seconds < TARGET_S
    return Row(name, seconds, "s", f"< {TARGET_S:.0f} s", ok, baseline=raw_s, baseline_name=RAW)


async def benchmark(
    client: httpx.AsyncClient, issuer: TokenIssuer, database_url: str
) -> tuple[list[Row], list[str]]:
    """Load the database with all deliveries, timing each import and its raw copy."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute(f"CREATE TABLE {SCRATCH} (LIKE device INCLUDING ALL)")
        durations, copies = await load_devices(client, issuer, conn)
        await conn.execute(f"DROP TABLE {SCRATCH}")
    finally:
        await conn.close()
    notes = [
        "CSV import baseline: after each import, its 10,000 device rows COPYed (asyncpg, one "
        "statement) into a scratch table LIKE device INCLUDING ALL (no foreign keys) that "
        "holds the same rows as `device`; the API also parses and validates the CSV, checks "
        "references and duplicates, and writes a history row and an outbox event per device",
    ]
    return rows_for(durations, copies), notes
