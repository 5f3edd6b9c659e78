"""SQL of the daily snapshots: the feed table, its series and its export."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.tenancy import Scope
from statistics_service.models import Institution, InstitutionSnapshot, SnapshotBand
from statistics_service.repository.views import Area

# Snapshot writers take turns: `seq` values are then allocated in commit order, so a reader
# that has seen `seq` n will never later find a committed record below n (no skipped records).
FEED_LOCK = 0x57A7_0002

SERIES_COLUMNS = (
    "devices_total",
    "devices_in_service",
    "active_loans",
    "overdue_loans",
    "reservations_waiting",
    "waitlisted",
    "tickets_open",
    "sla_breaches",
    "pupils",
)
# Usage figures of each record (null in records from before feed schema 1.2.0).
USAGE_COLUMNS = (
    "devices_lendable",
    "devices_on_loan",
    "devices_idle",
    "devices_never_lent",
    "loan_days_30",
    "loan_days_90",
    "loan_days_365",
)


def _within(stmt: Any, model: Any, area: Area) -> Any:
    if area.municipality_code is not None:
        stmt = stmt.where(model.municipality_code == area.municipality_code)
    if area.institution_number is not None:
        stmt = stmt.where(model.institution_number == area.institution_number)
    return stmt


class SnapshotRepository:
    """Writes and reads `institution_snapshot` and `snapshot_band`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self) -> None:
        """Wait for the snapshot writer lock (released at the end of the transaction)."""
        await self.session.execute(text(f"SELECT pg_advisory_xact_lock({FEED_LOCK})"))

    async def institutions(self) -> Sequence[Any]:
        """Every institution (number, municipality, name), by number."""
        stmt = select(
            Institution.registration_number, Institution.municipality_code, Institution.name
        ).order_by(Institution.registration_number)
        return (await self.session.execute(stmt)).all()

    async def provisional_before(self, day: dt.date) -> Sequence[Row[Any]]:
        """The provisional records (`seq`, `record`) of days before `day`, in feed order."""
        s = InstitutionSnapshot
        stmt = select(s.seq, s.record).where(s.provisional, s.snapshot_date < day)
        return (await self.session.execute(stmt.order_by(s.seq))).all()

    async def of_day(self, day: dt.date) -> dict[str, Row[Any]]:
        """The records (`seq`, `provisional`, `record`) of `day`, by institution."""
        s = InstitutionSnapshot
        stmt = select(s.institution_number, s.seq, s.provisional, s.record).where(
            s.snapshot_date == day
        )
        return {r.institution_number: r for r in await self.session.execute(stmt)}

    async def delete(self, seqs: list[int]) -> None:
        """Remove replaced provisional records (their band rows go with them)."""
        if seqs:
            await self.session.execute(
                delete(InstitutionSnapshot).where(
                    InstitutionSnapshot.seq.in_(seqs), InstitutionSnapshot.provisional
                )
            )

    async def allocate_sequences(self, count: int) -> list[int]:
        """`count` new feed positions, ascending (call under `lock`)."""
        rows = await self.session.scalars(
            text(
                "SELECT nextval(pg_get_serial_sequence('institution_snapshot', 'seq')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
        return sorted(rows)

    async def insert(self, snapshots: list[dict[str, Any]], bands: list[dict[str, Any]]) -> None:
        """Append snapshot rows and their band rows."""
        for start in range(0, len(snapshots), 1000):
            await self.session.execute(insert(InstitutionSnapshot), snapshots[start : start + 1000])
        for start in range(0, len(bands), 2000):
            await self.session.execute(insert(SnapshotBand), bands[start : start + 2000])

    async def feed(self, after: int, limit: int, scope: Scope) -> Sequence[Row[Any]]:
        """Up to `limit` + 1 records after `after` of the scope's municipalities, in feed order."""
        s = InstitutionSnapshot
        stmt = select(s.seq, s.record).where(s.seq > after)
        visible = scope.condition(municipality=s.municipality_code)
        if visible is not None:
            stmt = stmt.where(visible)
        stmt = stmt.order_by(s.seq).limit(limit + 1)
        return (await self.session.execute(stmt)).all()

    async def series(self, area: Area, date_from: dt.date, date_to: dt.date) -> Sequence[Row[Any]]:
        """Per day: institutions and the sums of the snapshot columns."""
        s = InstitutionSnapshot
        sums = [func.sum(getattr(s, c)).label(c) for c in (*SERIES_COLUMNS, *USAGE_COLUMNS)]
        stmt = select(
            s.snapshot_date,
            func.count().label("institutions"),
            func.bool_or(s.provisional).label("provisional"),
            *sums,
        ).where(s.snapshot_date.between(date_from, date_to))
        stmt = _within(stmt, s, area).group_by(s.snapshot_date).order_by(s.snapshot_date)
        return (await self.session.execute(stmt)).all()

    async def series_bands(
        self, area: Area, date_from: dt.date, date_to: dt.date
    ) -> Sequence[Row[Any]]:
        """Per day and band: pupils, devices and devices needed, summed."""
        b = SnapshotBand
        stmt = select(
            b.snapshot_date,
            b.band,
            func.sum(b.pupils).label("pupils"),
            func.sum(b.devices).label("devices"),
            func.sum(b.devices_needed).label("devices_needed"),
        ).where(b.snapshot_date.between(date_from, date_to))
        stmt = _within(stmt, b, area).group_by(b.snapshot_date, b.band)
        return (await self.session.execute(stmt)).all()

    async def latest_date(self) -> dt.date | None:
        """The newest snapshot day."""
        return await self.session.scalar(select(func.max(InstitutionSnapshot.snapshot_date)))

    async def records(
        self,
        area: Area,
        date_from: dt.date,
        date_to: dt.date,
        chunk: int = 2000,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Snapshot records in (date, institution) order, a chunk at a time (for the export)."""
        s = InstitutionSnapshot
        last: tuple[dt.date, str] | None = None
        while True:
            stmt = select(s.snapshot_date, s.institution_number, s.record).where(
                s.snapshot_date.between(date_from, date_to)
            )
            stmt = _within(stmt, s, area)
            if last is not None:
                stmt = stmt.where(tuple_(s.snapshot_date, s.institution_number) > tuple_(*last))
            stmt = stmt.order_by(s.snapshot_date, s.institution_number).limit(chunk)
            rows = (await self.session.execute(stmt)).all()
            if not rows:
                return
            yield [r.record for r in rows]
            last = (rows[-1].snapshot_date, rows[-1].institution_number)
