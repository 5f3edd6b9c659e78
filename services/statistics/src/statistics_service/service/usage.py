"""Device use: loans, idleness and repairs, from every version of each device.

Every device event carries the device's whole snapshot with its `version`; each version is kept
(`device_status_change`, once per device and version), and a device's use is a function of all
of its versions in version order, so redelivered and late events give the same result as the
producer's order. Days are Rīga days.

- A device is *lendable* while it is available, reserved or on loan.
- A *loan* is a run of versions on loan: from the first one's day to the day of the next
  version that is not (a loan still running ends on `OPEN_END`). A loan covers the nights in
  it: from 1 to 4 March is 3 days, a loan returned the day it started 0.
- An *idle* device is lendable and not on loan; it is idle since its last loan ended, or, never
  lent, since its delivery (the inventory's delivery date, else the day it was first seen).
- *Never made available*: in stock and never available, reserved or on loan.
- A device's status began on the day of the first version of its latest run of that status
  (a repair's start, for one in repair).

Counters (summed by the views, as the others are): devices by funding source, status, ever
made available, ever lent and `since` (idle since, else status since); loans of the devices
lendable now by first and last day. A batch subtracts what each touched device contributed
before (computed from its stored versions and state) and adds what it contributes now.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from statistics_service.config import StatisticsSettings
from statistics_service.facts import DeviceFact, Transition
from statistics_service.repository.projection import ProjectionRepository

# The programme's day, as the settings' default time zone (Rīga).
PROGRAMME_TZ = ZoneInfo(StatisticsSettings.model_fields["timezone"].default)
LENDABLE = frozenset({"available", "reserved", "on_loan"})
ON_LOAN = "on_loan"
IN_STOCK = "in_stock"
IN_REPAIR = "in_repair"
OPEN_END = dt.date(9999, 12, 31)

Contribution = list[tuple[str, tuple[Any, ...], tuple[int, ...]]]


@dataclass(frozen=True, slots=True)
class Usage:
    """A device's use; every field but `loans` is a column of `device_usage`."""

    device_id: uuid.UUID
    municipality_code: str
    institution_number: str
    category: str
    os: str
    funding_source: str
    status: str
    delivered_on: dt.date
    ever_available: bool
    ever_lent: bool
    last_loan_ended_on: dt.date | None
    status_since: dt.date
    idle_since: dt.date | None
    loans: tuple[tuple[dt.date, dt.date], ...]  # (first day, last day or OPEN_END)


def day_of(at: dt.datetime) -> dt.date:
    """The Rīga day of a moment."""
    return at.astimezone(PROGRAMME_TZ).date()


def _loans(history: Sequence[Transition]) -> tuple[list[tuple[dt.date, dt.date]], dt.datetime]:
    """The loans of a device's versions (oldest first), and when its latest status began."""
    loans: list[tuple[dt.date, dt.date]] = []
    started: dt.datetime | None = None
    run_start, previous = history[0].at, history[0].status
    for t in history:
        if t.status != previous:
            run_start, previous = t.at, t.status
        if t.status == ON_LOAN and started is None:
            started = t.at
        elif t.status != ON_LOAN and started is not None:
            loans.append((day_of(started), day_of(t.at)))
            started = None
    if started is not None:
        loans.append((day_of(started), OPEN_END))
    return loans, run_start


def usage_of(state: DeviceFact, history: Sequence[Transition]) -> Usage | None:
    """A device's use from its latest state and its versions (None without any version)."""
    if not history:
        return None
    loans, status_began = _loans(history)
    ended = [end for _, end in loans if end != OPEN_END]
    delivered = state.delivered_on or day_of(min(t.at for t in history))
    idle = state.status in LENDABLE and state.status != ON_LOAN
    return Usage(
        device_id=state.device_id,
        municipality_code=state.municipality_code,
        institution_number=state.institution_number,
        category=state.category,
        os=state.os,
        funding_source=state.funding_source,
        status=state.status,
        delivered_on=delivered,
        ever_available=any(t.status in LENDABLE for t in history),
        ever_lent=bool(loans),
        last_loan_ended_on=ended[-1] if ended else None,
        status_since=day_of(status_began),
        idle_since=(ended[-1] if ended else delivered) if idle else None,
        loans=tuple(loans),
    )


def contribution(usage: Usage) -> Contribution:
    """What one device's use adds to the usage counters."""
    where = (usage.municipality_code, usage.institution_number)
    since = usage.idle_since or usage.status_since
    key = (*where, usage.funding_source, usage.status, usage.ever_available, usage.ever_lent)
    out: Contribution = [("device_usage_count", (*key, since), (1,))]
    if usage.status in LENDABLE:
        # A loan returned the day it began covers no night: it adds nothing to any window.
        out += [("loan_day_count", (*where, s, e), (1,)) for s, e in usage.loans if e > s]
    return out


def transitions_of(facts: Sequence[Any]) -> list[Transition]:
    """The device versions that facts state."""
    return [
        Transition(f.device_id, f.version, f.event_time, f.status)
        for f in facts
        if isinstance(f, DeviceFact) and f.version is not None
    ]


async def apply_usage(
    repo: ProjectionRepository,
    transitions: Sequence[Transition],
    applied: Sequence[DeviceFact],
    deltas: Any,
    stored: Mapping[uuid.UUID, DeviceFact],
    looked_up: Collection[uuid.UUID],
) -> list[Usage]:
    """Store new versions, recompute the use of every device they or `applied` (the newer
    states of this batch, not saved yet) touch, record the counter changes in `deltas`;
    returns the new `device_usage` rows (to be saved). `stored`: the stored states of the
    devices in `looked_up`, read already (the others are read here)."""
    newest = {f.device_id: f for f in applied}
    added, history = await repo.add_versions(transitions, newest)
    touched = {device_id for device_id, _ in added} | set(newest)
    if not touched:
        return []
    states = {**stored, **await repo.load(DeviceFact, touched.difference(looked_up))}
    rows = []
    for device_id in touched:
        full = history.get(device_id, [])
        before = [t for t in full if (device_id, t.version) not in added]
        old_state = states.get(device_id)
        new_state = newest.get(device_id, old_state)
        old = usage_of(old_state, before) if old_state is not None else None
        new = usage_of(new_state, full) if new_state is not None else None
        if old == new:
            continue
        if old is not None:
            deltas.add(contribution(old), -1)
        if new is not None:
            deltas.add(contribution(new), 1)
            rows.append(new)
    return rows
