"""Daily snapshots: one record per institution per Rīga day, in the VIIS feed and published.

While a day lasts its records are *provisional*: each run of the job (housekeeping, every few
minutes, or `POST /ops/snapshots`) replaces today's record of every institution whose figures
changed. Replacing appends a new record (a new `sequence`, the feed's cursor) and deletes the
old one, so a client that follows the cursor sees each version once and in order, and keeps
the latest per day and institution. Once the day has closed (midnight in Rīga) the next run
appends each of its provisional records again as *final* (`provisional: false`): the day's last
figures the job read, never replaced or deleted. Each record goes to `institution_snapshot`
and, in the same transaction, to the outbox as a `statistics.institution_snapshot` event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from statistics_service import events
from statistics_service.config import StatisticsSettings
from statistics_service.repository.snapshots import USAGE_COLUMNS, SnapshotRepository
from statistics_service.repository.views import Area, DeviceFilter, ViewRepository
from statistics_service.schemas import Figures, InstitutionSnapshotRecord
from statistics_service.service.figures import USAGE_WINDOWS, Raw, publish, read_raw
from statistics_service.service.views import local_date


async def take_daily_snapshots(
    session: AsyncSession, *, settings: StatisticsSettings, now: dt.datetime
) -> int:
    """Make past days' records final and refresh today's; returns how many were written."""
    day = local_date(now, settings)
    repo = SnapshotRepository(session)
    await repo.lock()
    closing = await repo.provisional_before(day)
    finals = [_final(r.record) for r in closing]
    stored = await repo.of_day(day)
    changed = [
        r
        for r in await _today(session, settings, day, now)
        if _replaces(stored.get(r.institution_registration_number), r)
    ]
    replaced = [
        stored[n].seq for r in changed if (n := r.institution_registration_number) in stored
    ]
    await repo.delete([r.seq for r in closing] + replaced)
    return await _append(session, [*finals, *changed])


async def _today(
    session: AsyncSession, settings: StatisticsSettings, day: dt.date, now: dt.datetime
) -> list[InstitutionSnapshotRecord]:
    """Every institution's figures now, as today's provisional records (sequence not set)."""
    raws = await read_raw(
        ViewRepository(session),
        group="institution_number",
        area=Area(),
        devices=DeviceFilter(),
        bands=settings.coverage_bands,
        today=day,
        idle_days=settings.idle_days,
    )
    return [
        InstitutionSnapshotRecord(
            sequence=0,
            snapshot_date=day,
            provisional=True,
            taken_at=now,
            municipality_code=inst.municipality_code,
            institution_registration_number=inst.registration_number,
            institution_name=inst.name,
            figures=publish(
                raws.get(inst.registration_number, Raw()),
                settings.coverage_bands,
                settings.suppression_threshold,
                settings.idle_days,
            ),
        )
        for inst in await SnapshotRepository(session).institutions()
    ]


def _replaces(stored: Any, record: InstitutionSnapshotRecord) -> bool:
    """Whether `record` is news against today's stored one: there is none yet, or it is
    provisional and says something else (a final record is never replaced)."""
    if stored is None:
        return True
    news = record.model_dump(mode="json", exclude={"sequence", "taken_at"})
    return bool(stored.provisional) and {k: stored.record.get(k) for k in news} != news


def _final(record: dict[str, Any]) -> InstitutionSnapshotRecord:
    """A closed day's last provisional record, as its final one (sequence not set)."""
    return InstitutionSnapshotRecord.model_validate({**record, "provisional": False})


async def _append(session: AsyncSession, records: list[InstitutionSnapshotRecord]) -> int:
    """Give the records their feed positions, store them and queue their events."""
    if not records:
        return 0
    repo = SnapshotRepository(session)
    sequences = await repo.allocate_sequences(len(records))
    numbered = [
        r.model_copy(update={"sequence": seq}) for seq, r in zip(sequences, records, strict=True)
    ]
    await repo.insert([_row(r) for r in numbered], [b for r in numbered for b in _bands(r)])
    await events.publish_snapshots(session, numbered)
    return len(numbered)


def _row(record: InstitutionSnapshotRecord) -> dict[str, Any]:
    f: Figures = record.figures
    return {
        "seq": record.sequence,
        "snapshot_date": record.snapshot_date,
        "municipality_code": record.municipality_code,
        "institution_number": record.institution_registration_number,
        "devices_total": f.devices.total,
        "devices_in_service": f.devices.in_service,
        "active_loans": f.loans.active,
        "overdue_loans": f.loans.overdue,
        "reservations_waiting": f.reservations.waiting,
        "waitlisted": f.reservations.waitlisted,
        "tickets_open": f.tickets.open,
        "sla_breaches": f.tickets.sla_breaches,
        "pupils": f.pupils.total,
        **_usage_columns(f),
        "provisional": record.provisional,
        "record": record.model_dump(mode="json"),
    }


def _usage_columns(f: Figures) -> dict[str, int | None]:
    u = f.usage
    if u is None:
        return dict.fromkeys(USAGE_COLUMNS)
    return {
        "devices_lendable": u.lendable,
        "devices_on_loan": u.on_loan,
        "devices_idle": u.idle,
        "devices_never_lent": u.never_lent,
        **{f"loan_days_{w}": u.loan_days[str(w)].days for w in USAGE_WINDOWS},
    }


def _bands(record: InstitutionSnapshotRecord) -> list[dict[str, Any]]:
    return [
        {
            "snapshot_seq": record.sequence,
            "band": band.band,
            "snapshot_date": record.snapshot_date,
            "municipality_code": record.municipality_code,
            "institution_number": record.institution_registration_number,
            "pupils": band.pupils,
            "devices": band.devices,
            "devices_needed": band.devices_needed,
        }
        for band in record.figures.coverage
    ]
