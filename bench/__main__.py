"""Run every benchmark, print the table and save it to bench/results/latest.md."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx

from bench import imports, relay, search
from bench.dataset import seed
from bench.infra import Infra, infrastructure, inventory_server
from bench.report import Row, document, save, table

HTTP_DATABASE = "bench_inventory"
ANALYZE_NOTE = "ANALYZE ran after the bulk load, before the searches (as autovacuum would)"


async def http_benchmarks(infra: Infra) -> tuple[list[Row], list[str]]:
    """Imports and searches against a real inventory server on a fresh database."""
    url = await infra.database(HTTP_DATABASE)
    try:
        async with inventory_server(infra, url) as base_url:
            async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
                await seed(client, infra.issuer)
                print("CSV imports …", flush=True)
                rows = await imports.benchmark(client, infra.issuer)
            await infra.analyze(url)
            print("GET /devices under load …", flush=True)
            search_rows, notes = await search.benchmark(base_url, infra.issuer)
    finally:
        await infra.drop(HTTP_DATABASE)
    return rows + search_rows, [ANALYZE_NOTE, *notes]


async def run_all(infra: Infra) -> tuple[list[Row], list[str]]:
    """All benchmarks in turn."""
    rows, notes = await http_benchmarks(infra)
    print("Outbox relay …", flush=True)
    relay_rows, relay_notes = await relay.benchmark(infra)
    return rows + relay_rows, notes + relay_notes


def main() -> None:
    """Start the infrastructure, run, report."""
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    with infrastructure() as infra:
        rows, notes = asyncio.run(run_all(infra))
    elapsed = time.perf_counter() - started
    print()
    print(table(rows))
    print()
    for note in notes:
        print(f"  {note}")
    path = save(document(rows, elapsed, notes))
    print(f"\ntotal {elapsed:.1f} s · written to {path}")


if __name__ == "__main__":
    main()
