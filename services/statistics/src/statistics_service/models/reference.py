"""Reference data from VIIS and the daily snapshots behind the VIIS feed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from statistics_service.models.base import Base, Code, RegNo

# Reference data from VIIS ------------------------------------------------------------------


class Institution(Base):
    """An institution: from VIIS (name, grades) or first seen in an event (municipality only)."""

    __tablename__ = "institution"

    registration_number: Mapped[str] = mapped_column(RegNo, primary_key=True)
    municipality_code: Mapped[str] = mapped_column(Code, index=True)
    name: Mapped[str | None] = mapped_column(String(300))
    # Bit g set when VIIS lists pupils in grade g; 0 until VIIS has been asked.
    grades_mask: Mapped[int] = mapped_column(Integer, default=0)
    in_viis: Mapped[bool] = mapped_column(Boolean, default=False)
    pupils_refreshed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PupilCount(Base):
    """Pupils of an institution in one grade, as VIIS last said."""

    __tablename__ = "pupil_count"

    institution_number: Mapped[str] = mapped_column(RegNo, primary_key=True)
    grade: Mapped[int] = mapped_column(Integer, primary_key=True)
    pupils: Mapped[int] = mapped_column(Integer)


# Daily snapshots (the VIIS feed) -----------------------------------------------------------


class InstitutionSnapshot(Base):
    """One institution's figures on one day; `seq` is the feed's order. A provisional row (the
    day is not over) is replaced by a new row; a final row is never changed."""

    __tablename__ = "institution_snapshot"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    snapshot_date: Mapped[dt.date] = mapped_column(Date)
    municipality_code: Mapped[str] = mapped_column(Code)
    institution_number: Mapped[str] = mapped_column(RegNo)
    devices_total: Mapped[int] = mapped_column(Integer)
    devices_in_service: Mapped[int] = mapped_column(Integer)
    active_loans: Mapped[int] = mapped_column(Integer)
    overdue_loans: Mapped[int] = mapped_column(Integer)
    reservations_waiting: Mapped[int] = mapped_column(Integer)
    waitlisted: Mapped[int] = mapped_column(Integer)
    tickets_open: Mapped[int] = mapped_column(Integer)
    sla_breaches: Mapped[int] = mapped_column(Integer)
    pupils: Mapped[int] = mapped_column(Integer)
    # Usage (null in records from before feed schema 1.2.0).
    devices_lendable: Mapped[int | None] = mapped_column(Integer)
    devices_on_loan: Mapped[int | None] = mapped_column(Integer)
    devices_idle: Mapped[int | None] = mapped_column(Integer)
    devices_never_lent: Mapped[int | None] = mapped_column(Integer)
    loan_days_30: Mapped[int | None] = mapped_column(Integer)
    loan_days_90: Mapped[int | None] = mapped_column(Integer)
    loan_days_365: Mapped[int | None] = mapped_column(Integer)
    provisional: Mapped[bool] = mapped_column(Boolean, server_default=false())
    record: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint("snapshot_date", "institution_number"),
        Index("ix_institution_snapshot_municipality_date", "municipality_code", "snapshot_date"),
        # Only the days not closed yet: the snapshot job looks for them on every run.
        Index(
            "ix_institution_snapshot_provisional",
            "snapshot_date",
            postgresql_where=text("provisional"),
        ),
    )


class SnapshotBand(Base):
    """Coverage of one grade band in one institution snapshot (summable across institutions)."""

    __tablename__ = "snapshot_band"

    snapshot_seq: Mapped[int] = mapped_column(
        ForeignKey("institution_snapshot.seq", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[str] = mapped_column(String(20), primary_key=True)
    snapshot_date: Mapped[dt.date] = mapped_column(Date)
    municipality_code: Mapped[str] = mapped_column(Code)
    institution_number: Mapped[str] = mapped_column(RegNo)
    pupils: Mapped[int] = mapped_column(Integer)
    devices: Mapped[int] = mapped_column(Integer)
    devices_needed: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_snapshot_band_date_municipality", "snapshot_date", "municipality_code"),
    )
