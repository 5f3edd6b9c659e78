"""Run the benchmarks, print the table and save it to bench/results/latest.md.

`python -m bench` runs them all; `python -m bench tokens relay` only those named (saved to
bench/results/latest-tokens-relay.md, so a partial run does not replace the full one).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx

from bench import (
    allocation,
    contracts,
    dashboards,
    imports,
    journey,
    notifications,
    portal,
    relay,
    reservations,
    search,
    statistics,
    survey,
    tickets,
    tokens,
)
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
            rows, notes = await imports.benchmark(client, infra.issuer, url)
        await infra.settle(url)
        print("GET /devices under load …", flush=True)
        search_rows, search_notes = await search.benchmark(server, infra.issuer, url)
    return rows + search_rows, [*notes, ANALYZE_NOTE, *search_notes]


async def relay_benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Outbox relay against a raw producer."""
    print("Outbox relay …", flush=True)
    return await relay.benchmark(infra)


async def token_benchmarks(infra: Infra) -> tuple[list[Row], list[str]]:
    """Gateway token issuance and verification."""
    print("Gateway token issuance …", flush=True)
    return await tokens.benchmark(infra)


async def reservation_benchmarks(infra: Infra) -> tuple[list[Row], list[str]]:
    """Reservations under contention, beside raw SQL."""
    print("Reservations under contention …", flush=True)
    return await reservations.benchmark(infra)


async def contract_benchmarks(infra: Infra) -> tuple[list[Row], list[str]]:
    """Loan contracts rendered and sealed."""
    print("Contracts rendered and sealed …", flush=True)
    return await contracts.benchmark(infra)


async def ticket_benchmarks(infra: Infra) -> tuple[list[Row], list[str]]:
    """Ticket creation and the support queue with 100,000 tickets."""
    print("Tickets …", flush=True)
    return await tickets.benchmark(infra)


async def statistics_benchmarks(infra: Infra) -> tuple[list[Row], list[str]]:
    """Statistics ingestion and views at national scale."""
    print("Statistics …", flush=True)
    return await statistics.benchmark(infra)


async def journey_benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """A loan across the services, reservation to device on loan, end to end."""
    print("Journey latency …", flush=True)
    return await journey.benchmark(infra)


async def portal_benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """The portal's guardian home and school approvals queue under 50 sessions each."""
    print("Portal pages …", flush=True)
    return await portal.benchmark(infra)


async def notifications_benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Notices through fan-out and the dispatcher to a real SMTP sink, beside raw aiosmtplib."""
    print("Notifications …", flush=True)
    return await notifications.benchmark(infra)


async def dashboards_benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """The console's municipal and national dashboards at national scale."""
    print("Dashboards …", flush=True)
    return await dashboards.benchmark(infra)


async def allocation_benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """An allocation round of 60,000 devices over the national register, computed and stored."""
    print("Allocation …", flush=True)
    return await allocation.benchmark(infra)


async def survey_benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Survey answers ingested through the service code; results at every level."""
    print("Survey …", flush=True)
    return await survey.benchmark(infra)


Benchmark = Callable[[Infra], Awaitable[tuple[list[Row], list[str]]]]
# Imports and searches share one database (the searches need the imported devices).
BENCHMARKS: dict[str, Benchmark] = {
    "inventory": http_benchmarks,
    "relay": relay_benchmark,
    "tokens": token_benchmarks,
    "reservations": reservation_benchmarks,
    "contracts": contract_benchmarks,
    "tickets": ticket_benchmarks,
    "statistics": statistics_benchmarks,
    "journey": journey_benchmark,
    "portal": portal_benchmark,
    "notifications": notifications_benchmark,
    "dashboards": dashboards_benchmark,
    "allocation": allocation_benchmark,
    "survey": survey_benchmark,
}


async def run_all(
    infra: Infra, names: Sequence[str] = tuple(BENCHMARKS)
) -> tuple[list[Row], list[str]]:
    """The named benchmarks (all by default) in turn."""
    rows: list[Row] = []
    notes: list[str] = []
    for name in names:
        more_rows, more_notes = await BENCHMARKS[name](infra)
        rows, notes = rows + more_rows, notes + more_notes
    return rows, notes


def load_note(before: tuple[float, ...]) -> str:
    """Machine load around the run: figures from a busy machine are not comparable."""
    after = os.getloadavg()
    return f"load average (1 min) {before[0]:.2f} at start, {after[0]:.2f} at end"


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so every `finally` stops the processes we started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def parse_args(argv: Sequence[str] | None = None) -> list[str]:
    """The benchmarks to run, in the order they are defined (all when none is named)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"{', '.join(BENCHMARKS)} (default: all)"
    )
    names = set(parser.parse_args(argv).names)
    if unknown := names - set(BENCHMARKS):
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}")
    return [name for name in BENCHMARKS if name in names] if names else list(BENCHMARKS)


def main() -> None:
    """Start the infrastructure, run, report."""
    names = parse_args()
    logging.basicConfig(level=logging.WARNING)
    stop_on_sigterm()
    started, load = time.perf_counter(), os.getloadavg()
    with infrastructure() as infra:
        rows, notes = asyncio.run(run_all(infra, names))
    elapsed = time.perf_counter() - started
    notes.append(load_note(load))
    print()
    print(table(rows))
    print()
    for note in notes:
        print(f"  {note}")
    partial = names != list(BENCHMARKS)
    path = save(
        document(rows, elapsed, notes), f"latest-{'-'.join(names)}.md" if partial else "latest.md"
    )
    print(f"\ntotal {elapsed:.1f} s · written to {path}")


if __name__ == "__main__":
    main()
