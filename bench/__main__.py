"""Run every benchmark, print the table and save it to bench/results/latest.md."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time

import httpx

from bench import imports, relay, search
from bench.dataset import seed
from bench.infra import Infra, infrastructure, inventory_server
from bench.report import Row, document, save, table

ANALYZE_NOTE = "VACUUM (ANALYZE) and CHECKPOINT ran after the bulk load, before the searches"


async def http_benchmarks(infra: Infra) -> tuple[list[Row], list[str]]:
    """Imports and searches against a real inventory server on a fresh database."""
    async with (
        infra.fresh_database("bench_inventory") as url,
        inventory_server(infra, url) as server,
    ):
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
            await seed(client, infra.issuer)
            print("CSV imports …", flush=True)
            rows = await imports.benchmark(client, infra.issuer)
        await infra.settle(url)
        print("GET /devices under load …", flush=True)
        search_rows, notes = await search.benchmark(server, infra.issuer)
    return rows + search_rows, [ANALYZE_NOTE, *notes]


async def run_all(infra: Infra) -> tuple[list[Row], list[str]]:
    """All benchmarks in turn."""
    rows, notes = await http_benchmarks(infra)
    print("Outbox relay …", flush=True)
    relay_rows, relay_notes = await relay.benchmark(infra)
    return rows + relay_rows, notes + relay_notes


def load_note(before: tuple[float, ...]) -> str:
    """Machine load around the run: figures from a busy machine are not comparable."""
    after = os.getloadavg()
    return f"load average (1 min) {before[0]:.2f} at start, {after[0]:.2f} at end"


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so every `finally` stops the processes we started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main() -> None:
    """Start the infrastructure, run, report."""
    logging.basicConfig(level=logging.WARNING)
    stop_on_sigterm()
    started, load = time.perf_counter(), os.getloadavg()
    with infrastructure() as infra:
        rows, notes = asyncio.run(run_all(infra))
    elapsed = time.perf_counter() - started
    notes.append(load_note(load))
    print()
    print(table(rows))
    print()
    for note in notes:
        print(f"  {note}")
    path = save(document(rows, elapsed, notes))
    print(f"\ntotal {elapsed:.1f} s · written to {path}")


if __name__ == "__main__":
    main()
