"""Command-line entry points of statistics.

    statistics-rebuild [--batch-size 20000] [--allow-incomplete]   # settings from STATISTICS_*

`statistics-rebuild` replays the consumed topics into fresh tables and swaps them in (see
`statistics_service.rebuild`); it prints its report as JSON, or exits 2 with the live tables
unchanged when the topics no longer hold every event.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from dataclasses import asdict

from statistics_service.config import StatisticsSettings
from statistics_service.rebuild import IncompleteHistory, rebuild


def main(argv: list[str] | None = None) -> int:
    """`statistics-rebuild`: replay the topics into fresh tables and swap them in."""
    parser = argparse.ArgumentParser(
        prog="statistics-rebuild",
        description="Replay every topic from the beginning into fresh tables, then swap.",
    )
    parser.add_argument("--batch-size", type=int, default=None, help="facts per transaction")
    parser.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="swap in even if a topic is missing or no longer starts at offset 0",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        report = asyncio.run(
            rebuild(
                StatisticsSettings(),
                batch_size=args.batch_size,
                allow_incomplete=args.allow_incomplete,
            )
        )
    except IncompleteHistory as exc:
        print(f"statistics-rebuild: not rebuilt, the live tables are unchanged: {exc}")
        return 2
    print(json.dumps({**asdict(report), "events_per_second": round(report.events_per_second)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
