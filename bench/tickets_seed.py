"""Bulk seeding of a tickets database for the benchmarks: devices and 100,000 tickets in seconds.

    from bench.tickets_seed import Tenancy, seed
    counts = await seed(database_url, tickets=100_000, tenancies=[Tenancy("0010000", "3113900001")])

or from a shell in the repository root, on a migrated tickets database:

    uv run python -m bench.tickets_seed postgresql+asyncpg://…/tickets --tickets 100000

Rows are written with one `INSERT … SELECT … FROM generate_series` per table, in the shape the
API writes them (SLA deadlines consistent with the default targets, `version` 1), so the
benchmark measures the real queries on realistic indexes; `ANALYZE` follows. Nothing is
published: the outbox stays empty. Ticket `i` (1-based) is for device `i mod devices`;
devices are spread round-robin over the tenancies (municipality, institution); ids are
deterministic (`device_id(j)`), so a benchmark can name them without reading them back.

- devices: asset tag `BENCH-<j>`, laptop / windows, available, under warranty and insured;
- tickets: opened one every `spacing_s` seconds up to `now`, oldest first; `open_percent` of
  them open (new, acknowledged, in progress, waiting for parts, in turn), the rest closed;
  severities and categories in turn; reporters `bench-reporter-<i mod 5000>` (guardians).

For ticket creation through the API, a support token of the device's municipality
(`roles=["technician"], municipalities=[code]`, audience `tickets`) may report for any seeded
device; for the queue listing, `GET /api/v1/tickets?open=true&limit=50` with the same token
reads the municipality's open queue, oldest first, through `ix_ticket_open_queue`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tickets_service.models import Category, Severity
from tickets_service.service.sla import DEFAULT_TARGETS

__all__ = ["Tenancy", "device_id", "seed"]

DEVICES_SQL = """
WITH p AS (SELECT CAST(:municipalities AS text[]) AS m, CAST(:institutions AS text[]) AS inst)
INSERT INTO device (id, inventory_version, asset_tag, municipality_code, institution_number,
                    category, os, status, warranty_ends_on, insured_until)
SELECT md5('bench-device-' || g.j)::uuid, 1, 'BENCH-' || g.j,
       p.m[1 + g.j % cardinality(p.m)], p.inst[1 + g.j % cardinality(p.inst)],
       'laptop', 'windows', 'available', DATE '2028-08-31', DATE '2028-08-31'
  FROM p, generate_series(0, CAST(:devices AS int) - 1) AS g(j)
    ON CONFLICT (id) DO NOTHING
"""

# One row per ticket: `d` is its device, `o` its opening; the state follows `i mod 100`.
TICKETS_SQL = """
WITH p AS (
  SELECT CAST(:municipalities AS text[]) AS m, CAST(:institutions AS text[]) AS inst,
         CAST(:categories AS text[]) AS cat, CAST(:severities AS text[]) AS sev,
         CAST(:responses AS int[]) AS resp, CAST(:resolutions AS int[]) AS res,
         CAST(:tickets AS int) AS n, CAST(:devices AS int) AS devices,
         CAST(:open_percent AS int) AS open_percent, CAST(:spacing_s AS float8) AS spacing,
         CAST(:now AS timestamptz) AS now
), s AS (
  SELECT g.i, g.i % p.devices AS d,
         CASE WHEN g.i % 100 < p.open_percent
              THEN (ARRAY['new', 'acknowledged', 'in_progress', 'waiting_for_parts'])[1 + g.i % 4]
              ELSE 'closed' END AS state,
         p.now - make_interval(secs => (p.n - g.i) * p.spacing) AS o,
         p.sev[1 + g.i % 4] AS severity, p.resp[1 + g.i % 4] AS response,
         p.res[1 + g.i % 4] AS resolution, p.cat[1 + g.i % cardinality(p.cat)] AS category
    FROM p, generate_series(1, p.n) AS g(i)
)
INSERT INTO ticket (id, device_id, asset_tag, municipality_code, institution_number, category,
                    severity, state, description, contact_preference, source, reporter_id,
                    reporter_kind, repair, warranty_claim, return_photo_ids, opened_at,
                    response_target_minutes, resolution_target_minutes, first_response_at,
                    response_due_at, resolution_due_at, resolved_at, closed_at, version)
SELECT gen_random_uuid(), md5('bench-device-' || s.d)::uuid, 'BENCH-' || s.d,
       p.m[1 + s.d % cardinality(p.m)], p.inst[1 + s.d % cardinality(p.inst)],
       s.category::ticket_category, s.severity::severity, s.state::ticket_state,
       'Benchmark ticket ' || s.i, 'app', 'api', 'bench-reporter-' || (s.i % 5000),
       'guardian', true, false, '[]'::jsonb, s.o, s.response, s.resolution,
       CASE WHEN s.state <> 'new' THEN s.o + interval '1 hour' END,
       s.o + make_interval(mins => s.response),
       CASE WHEN s.state <> 'closed' THEN s.o + make_interval(mins => s.resolution) END,
       CASE WHEN s.state = 'closed' THEN s.o + interval '2 days' END,
       CASE WHEN s.state = 'closed' THEN s.o + interval '3 days' END,
       1
  FROM p, s
"""


@dataclass(frozen=True)
class Tenancy:
    """Where seeded devices belong: a municipality (ATVK code) and one of its institutions."""

    municipality_code: str
    institution_number: str


def device_id(j: int) -> uuid.UUID:
    """The id of seeded device `j` (0-based), as the SQL computes it."""
    return uuid.UUID(hashlib.md5(f"bench-device-{j}".encode()).hexdigest())


async def seed(
    database_url: str,
    *,
    tickets: int = 100_000,
    devices: int = 20_000,
    tenancies: Sequence[Tenancy] = (Tenancy("0010000", "3113900001"),),
    open_percent: int = 20,
    spacing_s: float = 30.0,
    now: dt.datetime | None = None,
) -> dict[str, float]:
    """Seed devices and tickets on a migrated tickets database; counts and seconds taken."""
    severities = list(Severity)
    params = {
        "municipalities": [t.municipality_code for t in tenancies],
        "institutions": [t.institution_number for t in tenancies],
        "categories": [c.value for c in Category if c not in (Category.LOST, Category.STOLEN)],
        "severities": [s.value for s in severities],
        "responses": [DEFAULT_TARGETS[s][0] for s in severities],
        "resolutions": [DEFAULT_TARGETS[s][1] for s in severities],
        "devices": devices,
        "tickets": tickets,
        "open_percent": open_percent,
        "spacing_s": spacing_s,
        "now": now or dt.datetime.now(dt.UTC),
    }
    engine = create_async_engine(database_url)
    started = time.perf_counter()
    try:
        async with engine.begin() as conn:
            await conn.execute(text(DEVICES_SQL), params)
            await conn.execute(text(TICKETS_SQL), params)
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE device"))
            await conn.execute(text("ANALYZE ticket"))
            total = await conn.scalar(text("SELECT count(*) FROM ticket"))
    finally:
        await engine.dispose()
    return {"tickets": float(total or 0), "seconds": time.perf_counter() - started}


def main() -> None:
    """Seed from the command line."""
    parser = argparse.ArgumentParser(description="Seed a migrated tickets database")
    parser.add_argument("database_url")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--open-percent", type=int, default=20)
    parser.add_argument("--municipality", default="0010000")
    parser.add_argument("--institution", default="3113900001")
    args = parser.parse_args()
    counts = asyncio.run(
        seed(
            args.database_url,
            tickets=args.tickets,
            devices=args.devices,
            tenancies=[Tenancy(args.municipality, args.institution)],
            open_percent=args.open_percent,
        )
    )
    print(f"{counts['tickets']:.0f} tickets in the database ({counts['seconds']:.1f} s)")


if __name__ == "__main__":
    main()
