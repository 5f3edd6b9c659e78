"""`inventory-import`: upload a delivery CSV to the inventory with a progress bar.

    inventory-import delivery.csv --municipality 0010000 --token "$TOKEN"

`valid_rows` mode sends the file in chunks (the bar follows rows and each chunk carries its
own Idempotency-Key, so re-running after a failure resends nothing twice); `all_or_nothing`
sends it whole (the bar follows the upload) because the server must see every row at once.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import httpx
from tqdm import tqdm

ENDPOINT = "/api/v1/inventory/devices/imports"


@dataclass
class Totals:
    """Counts over every chunk, plus the failed rows with file line numbers."""

    created: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def add(self, report: dict[str, Any], line_offset: int = 0) -> None:
        self.created += report["created_rows"]
        self.unchanged += report["unchanged_rows"]
        self.failed += report["failed_rows"]
        for row in report["rows"]:
            if row["errors"]:
                self.failures.append({**row, "line": row["line"] + line_offset})


class ProgressReader(io.RawIOBase):
    """A file wrapper that advances a progress bar as httpx reads it."""

    def __init__(self, raw: BinaryIO, bar: tqdm) -> None:
        self._raw, self._bar = raw, bar

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._bar.update(len(chunk))
        return chunk

    def readable(self) -> bool:
        return True


def chunks(content: bytes, rows_per_chunk: int) -> Iterator[tuple[int, bytes, int]]:
    """(first data line, CSV chunk with header, row count) for each chunk of the file."""
    lines = content.decode("utf-8-sig").splitlines(keepends=True)
    header, body = lines[0], [line for line in lines[1:] if line.strip()]
    for start in range(0, len(body), rows_per_chunk):
        part = body[start : start + rows_per_chunk]
        yield start, (header + "".join(part)).encode(), len(part)


def key_for(content: bytes, form: dict[str, str]) -> str:
    """Idempotency-Key of an upload: the same bytes and options give the same key."""
    options = "&".join(f"{k}={v}" for k, v in sorted(form.items()))
    return hashlib.sha256(content + options.encode()).hexdigest()


async def post(
    client: httpx.AsyncClient,
    content: bytes | IO[bytes],
    form: dict[str, str],
    key: str,
) -> dict[str, Any]:
    """Upload one CSV; the report, also from a 422 rejection."""
    response = await client.post(
        ENDPOINT,
        data=form,
        files={"file": ("delivery.csv", content, "text/csv")},
        headers={"Idempotency-Key": key},
        timeout=300,
    )
    body = response.json()
    if response.status_code == 422 and "report" in body:
        return dict(body["report"])
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {body.get('detail', body)}")
    return dict(body)


async def import_in_chunks(
    client: httpx.AsyncClient,
    content: bytes,
    form: dict[str, str],
    rows_per_chunk: int,
    quiet: bool = False,
) -> Totals:
    """`valid_rows`: one request per chunk, the bar counting rows."""
    totals = Totals()
    parts = list(chunks(content, rows_per_chunk))
    with tqdm(total=sum(n for _, _, n in parts), unit="row", disable=quiet) as bar:
        for first, part, n in parts:
            totals.add(await post(client, part, form, key_for(part, form)), line_offset=first)
            bar.update(n)
    return totals


async def import_whole(
    client: httpx.AsyncClient, content: bytes, form: dict[str, str], quiet: bool = False
) -> Totals:
    """`all_or_nothing`: the whole file in one request, the bar counting bytes sent."""
    totals = Totals()
    with tqdm(total=len(content), unit="B", unit_scale=True, disable=quiet) as bar:
        reader = cast(IO[bytes], ProgressReader(io.BytesIO(content), bar))
        totals.add(await post(client, reader, form, key_for(content, form)))
    return totals


async def run_import(
    client: httpx.AsyncClient,
    content: bytes,
    *,
    municipality: str,
    mode: str,
    dry_run: bool = False,
    rows_per_chunk: int = 1000,
    quiet: bool = False,
) -> Totals:
    """Upload a delivery and return the combined report."""
    form = {"municipality": municipality, "mode": mode, "dry_run": str(dry_run).lower()}
    if mode == "valid_rows":
        return await import_in_chunks(client, content, form, rows_per_chunk, quiet)
    return await import_whole(client, content, form, quiet)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="inventory-import", description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--municipality", required=True, help="ATVK code, e.g. 0010000")
    parser.add_argument(
        "--mode", choices=["all_or_nothing", "valid_rows"], default="all_or_nothing"
    )
    parser.add_argument("--dry-run", action="store_true", help="validate only")
    parser.add_argument("--url", default=os.environ.get("INVENTORY_URL", "http://127.0.0.1:8101"))
    parser.add_argument(
        "--token",
        default=os.environ.get("INVENTORY_TOKEN"),
        help="access token (or INVENTORY_TOKEN)",
    )
    parser.add_argument("--chunk-rows", type=int, default=1000)
    return parser.parse_args(argv)


def print_summary(totals: Totals) -> None:
    """Counts and the first failed rows."""
    print(f"created {totals.created}, unchanged {totals.unchanged}, failed {totals.failed}")
    for row in totals.failures[:50]:
        errors = "; ".join(f"{e['field']}: {e['detail']}" for e in row["errors"])
        print(f"  line {row['line']} ({row['serial_number'] or '?'}): {errors}")
    if len(totals.failures) > 50:
        print(f"  … and {len(totals.failures) - 50} more")


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit 0 when every row is in, 1 when rows failed, 2 on errors."""
    args = parse_args(argv)
    if not args.token:
        print("an access token is needed: --token or INVENTORY_TOKEN", file=sys.stderr)
        return 2
    try:
        content = args.file.read_bytes()
        totals = asyncio.run(_run(args, content))
    except (OSError, RuntimeError, httpx.HTTPError, UnicodeDecodeError) as exc:
        print(f"import failed: {exc}", file=sys.stderr)
        return 2
    print_summary(totals)
    return 1 if totals.failed else 0


async def _run(args: argparse.Namespace, content: bytes) -> Totals:
    headers = {"Authorization": f"Bearer {args.token}"}
    async with httpx.AsyncClient(base_url=args.url, headers=headers) as client:
        return await run_import(
            client,
            content,
            municipality=args.municipality,
            mode=args.mode,
            dry_run=args.dry_run,
            rows_per_chunk=args.chunk_rows,
        )


if __name__ == "__main__":
    sys.exit(main())
