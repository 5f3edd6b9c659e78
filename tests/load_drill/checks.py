"""The load drill's accounting: every event published and applied once, no double booking,
the services agreeing with the live reservations, unbroken device histories; and the report."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import contracts_service.consumers
import inventory_service.consumers
import reservations_service.consumers
import tickets_service.consumers
from load_drill.actors import SETTLE_S, Call

# Accounting for events ------------------------------------------------------------------------

# Event types each consumer applies (the others it reads are ignored and leave no inbox row).
APPLIES = {
    "inventory": set(inventory_service.consumers.build_handlers()),
    "reservations": set(reservations_service.consumers.HANDLED),
    "contracts": set(contracts_service.consumers.HANDLED),
    "tickets": set(tickets_service.consumers.build_handlers()),
}


async def rows(url: str, sql: str) -> list[Any]:
    """The rows of a query on a service's database."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(text(sql)))
    finally:
        await engine.dispose()


@dataclass
class Ledger:
    """Per service: events published, applied, pending, missing, unknown; dead letters."""

    published: dict[str, int] = field(default_factory=dict)
    applied: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    missing: dict[str, set[str]] = field(default_factory=dict)
    unknown: dict[str, set[str]] = field(default_factory=dict)
    dead: list[str] = field(default_factory=list)

    def settled(self) -> bool:
        """Nothing pending, missing, unknown or dead-lettered."""
        gaps = [*self.pending.values(), *map(len, self.missing.values())]
        return not any(gaps) and not any(self.unknown.values()) and not self.dead


async def ledger(databases: dict[str, str]) -> Ledger:
    """Compare every outbox with every inbox that reads it."""
    sql = "select event_id::text, event_type, published_at from outbox_message"
    outbox = {name: await rows(url, sql) for name, url in databases.items()}
    book = Ledger()
    for name, url in databases.items():
        book.published[name] = sum(1 for r in outbox[name] if r.published_at is not None)
        book.pending[name] = sum(1 for r in outbox[name] if r.published_at is None)
        expected = {
            r.event_id for source, events in outbox.items() if source != name
            for r in events if r.event_type in APPLIES[name]
        }  # fmt: skip
        inbox = {r.event_id for r in await rows(url, "select event_id from inbox_message")}
        book.applied[name] = len(inbox)
        book.missing[name], book.unknown[name] = expected - inbox, inbox - expected
        dead = await rows(url, "select consumer, event_type, error from dead_letter")
        book.dead += [f"{name}: {r.consumer} {r.event_type}: {r.error[:300]}" for r in dead]
    return book


async def settle(databases: dict[str, str]) -> Ledger:
    """Wait (at most `SETTLE_S`) until the ledger is settled twice in a row."""
    deadline = time.monotonic() + SETTLE_S
    quiet = 0
    while True:
        book = await ledger(databases)
        quiet = quiet + 1 if book.settled() else 0
        if quiet == 2 or time.monotonic() > deadline:
            return book
        await asyncio.sleep(0.3)


# Checking the end state -----------------------------------------------------------------------


async def double_bookings(reservations_db: str) -> list[Any]:
    """Pairs of allocating reservations of one device with overlapping periods."""
    return await rows(
        reservations_db,
        "select a.id, b.id, a.device_id from reservation a join reservation b "
        "on a.device_id = b.device_id and a.id < b.id and a.period && b.period "
        "where a.state in ('approved', 'fulfilled') and b.state in ('approved', 'fulfilled')",
    )


@dataclass
class EndState:
    """What each service says about devices once everything is applied."""

    approved: set[tuple[str, str]]  # reservations: (device, reservation) holding a device now
    lent: dict[str, str]  # reservations: fulfilled reservation → device, loan not ended
    status: dict[str, str]  # inventory: device → status
    holds: set[tuple[str, str]]  # inventory: (device, reservation) holds not released
    active: set[str]  # contracts: reservations with an active contract
    loans: set[str]  # tickets: devices on an active loan
    repairing: set[str]  # tickets: devices taken in, their repair not completed


LIVE = (
    "select id::text, device_id::text, state from reservation "
    "where state = 'approved' or (state = 'fulfilled' and upper(period) > now())"
)
HOLDS = "select device_id::text, reservation_id::text from device_hold where released_at is null"
ACTIVE = "select reservation_id::text as id from contract where state = 'active'"
LOANS = "select device_id::text as id from loan where active"
REPAIRING = (
    "select device_id::text as id from ticket "
    "where repair_started_at is not null and repair_completed_at is null"
)


async def end_state(databases: dict[str, str]) -> EndState:
    """Read the end state from the services' databases."""
    live = await rows(databases["reservations"], LIVE)
    inventory = databases["inventory"]
    devices = await rows(inventory, "select id::text, status from device")
    return EndState(
        approved={(r.device_id, r.id) for r in live if r.state == "approved"},
        lent={r.id: r.device_id for r in live if r.state == "fulfilled"},
        status={r.id: r.status for r in devices},
        holds={(r.device_id, r.reservation_id) for r in await rows(inventory, HOLDS)},
        active={r.id for r in await rows(databases["contracts"], ACTIVE)},
        loans={r.id for r in await rows(databases["tickets"], LOANS)},
        repairing={r.id for r in await rows(databases["tickets"], REPAIRING)},
    )


def disagreements(s: EndState) -> list[str]:
    """Where the inventory, contracts or tickets disagree with the live reservations."""
    holders = Counter([d for d, _ in s.approved] + list(s.lent.values()))
    found = [f"device {d} held by {n} live reservations" for d, n in holders.items() if n > 1]
    found += [f"inventory holds {h} for no approved reservation" for h in s.holds - s.approved]
    found += [f"approved {a} is not held in the inventory" for a in s.approved - s.holds]
    for device, reservation in s.approved:
        if s.status[device] != "reserved":
            found.append(f"approved {reservation}: device {device} is {s.status[device]}")
    for reservation, device in s.lent.items():
        if s.status[device] not in ("on_loan", "in_repair"):
            found.append(f"lent {reservation}: device {device} is {s.status[device]}")
    for device, status in s.status.items():
        if status in ("reserved", "on_loan") and device not in holders:
            found.append(f"device {device} is {status} for no live reservation")
    if set(s.lent) != s.active:
        found.append(f"active contracts ≠ loans: {set(s.lent) ^ s.active}")
    if set(s.lent.values()) != s.loans:
        found.append(f"tickets' loans ≠ loans: {set(s.lent.values()) ^ s.loans}")
    in_repair = {device for device, status in s.status.items() if status == "in_repair"}
    if in_repair != s.repairing:  # reported or looked at is not taken in
        found.append(f"in repair ≠ tickets' repairs under way: {in_repair ^ s.repairing}")
    return found


async def broken_histories(inventory_db: str) -> list[str]:
    """Devices whose status history is not one chain of real changes ending at the current
    status (an event applied twice, or a change lost, breaks it)."""
    steps = await rows(
        inventory_db,
        "select h.device_id::text, h.changes->'status'->>0 as before, "
        "h.changes->'status'->>1 as after, d.status from device_history h "
        "join device d on d.id = h.device_id where h.changes ? 'status' order by h.seq",
    )
    chains: dict[str, list[Any]] = defaultdict(list)
    for step in steps:
        chains[step.device_id].append(step)
    return [
        f"{device}: {[(s.before, s.after) for s in chain]}"
        for device, chain in chains.items()
        if any(a.after != b.before for a, b in itertools.pairwise(chain))
        or any(step.before == step.after for step in chain)
        or chain[-1].after != chain[-1].status
    ]


# Reporting ------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_line(name: str, calls: list[Call], statuses: str = "") -> str:
    """One table row: count, p50 and p99 in milliseconds, statuses."""
    ms = [c.seconds * 1000 for c in calls]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    return f"{name:32} {len(calls):6} {p50:8.1f} {p99:8.1f}  {statuses}".rstrip()


def summary(calls: list[Call], seconds: float, book: Ledger, loans: int) -> str:
    """p50/p99/count per kind of request, the request rate, the events."""
    by_kind: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        by_kind[call.kind].append(call)
    lines = [f"{'request':32} {'count':>6} {'p50 ms':>8} {'p99 ms':>8}  statuses"]
    for kind, group in sorted(by_kind.items()):
        statuses = sorted(Counter(c.status for c in group).items())
        lines.append(latency_line(kind, group, " ".join(f"{s}×{n}" for s, n in statuses)))
    lines.append(latency_line("all", calls))
    lines.append(f"{len(calls) / seconds:.0f} requests/s over {seconds:.1f} s; {loans} loans")
    for name, published in book.published.items():
        lines.append(
            f"{name}: published {published} events; applied {book.applied[name]} of the "
            "other services' (every one it handles)"
        )
    return "\n".join(lines)
