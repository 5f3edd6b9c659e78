"""Daily snapshots: one record per institution per Rīga day, appended to the feed and published.

The job runs with housekeeping (every few minutes) and writes the snapshots of today that are
still missing, so the first run after local midnight takes the day's snapshot: `snapshot_date`
D describes the read model at the start of day D. A new institution (first seen in an event or
in VIIS later that day) gets its snapshot of D on the next run. Each record goes to the
append-only `institution_snapshot` table (its `seq` is the feed position) and, in the same
transaction, to the outbox as a `statistics.institution_snapshot` event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from statistics_service import events
from statistics_service.config import StatisticsSettings
from statistics_service.repository.snapshots import SnapshotRepository
from statistics_service.repository.views import DeviceFilter, Scope, ViewRepository
from statistics_service.schemas import Figures, InstitutionSnapshotRecord
from statistics_service.service.figures import Raw, publish, read_raw
from statistics_service.service.views import local_date


async def take_daily_snapshots(
    session: AsyncSession, *, settings: StatisticsSettings, now: dt.datetime
) -> int:
    """Write today's missing institution snapshots; returns how many were written."""
    day = local_date(now, settings)
    repo = SnapshotRepository(session)
    await repo.lock()
    missing = await repo.institutions_without_snapshot(day)
    if not missing:
        return 0
    raws = await read_raw(
        ViewRepository(session),
        group="institution_number",
        scope=Scope(),
        devices=DeviceFilter(),
        bands=settings.coverage_bands,
        today=day,
    )
    sequences = await repo.allocate_sequences(len(missing))
    records = [
        InstitutionSnapshotRecord(
            sequence=seq,
            snapshot_date=day,
            taken_at=now,
            municipality_code=inst.municipality_code,
            institution_registration_number=inst.registration_number,
            institution_name=inst.name,
            figures=publish(
                raws.get(inst.registration_number, Raw()),
                settings.coverage_bands,
                settings.suppression_threshold,
            ),
        )
        for seq, inst in zip(sequences, missing, strict=True)
    ]
    await repo.insert([_row(r) for r in records], [b for r in records for b in _bands(r)])
    await events.publish_snapshots(session, settings.events_topic, records)
    return len(records)


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
        "record": record.model_dump(mode="json"),
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
