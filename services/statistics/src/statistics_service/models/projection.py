"""The projection: per-aggregate state, device use and the counters the views read."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from statistics_service.models.allocation import ALLOCATION_TABLES
from statistics_service.models.base import Base, Code, Label, OrderKey, OrderRef, RegNo

# Per-aggregate state ----------------------------------------------------------------------


class DeviceState(OrderKey, Base):
    """A device as last applied (the inventory's snapshot, the fields statistics counts by)."""

    __tablename__ = "device_state"

    device_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    municipality_code: Mapped[str] = mapped_column(Code)
    institution_number: Mapped[str] = mapped_column(RegNo)
    status: Mapped[str] = mapped_column(Label)
    os: Mapped[str] = mapped_column(Label)
    category: Mapped[str] = mapped_column(Label)
    funding_source: Mapped[str] = mapped_column(Label)
    warranty_ends_on: Mapped[dt.date | None] = mapped_column(Date)
    levels_mask: Mapped[int] = mapped_column(Integer)
    delivered_on: Mapped[dt.date | None] = mapped_column(Date)
    order_reference: Mapped[str | None] = mapped_column(OrderRef)


class ReservationState(OrderKey, Base):
    """A reservation as last applied."""

    __tablename__ = "reservation_state"

    reservation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    municipality_code: Mapped[str] = mapped_column(Code)
    institution_number: Mapped[str] = mapped_column(RegNo)
    state: Mapped[str] = mapped_column(Label)
    priority_score: Mapped[int] = mapped_column(Integer)
    criteria: Mapped[str] = mapped_column(String(400))  # comma-separated criterion names


class ContractState(OrderKey, Base):
    """A loan contract as last applied, with the social criteria it was counted under."""

    __tablename__ = "contract_state"

    contract_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reservation_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    municipality_code: Mapped[str] = mapped_column(Code)
    institution_number: Mapped[str] = mapped_column(RegNo)
    state: Mapped[str] = mapped_column(Label)
    overdue: Mapped[bool] = mapped_column(Boolean)
    criteria: Mapped[str] = mapped_column(String(400))  # as counted: comma-separated


class TicketState(OrderKey, Base):
    """A ticket as last applied."""

    __tablename__ = "ticket_state"

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    municipality_code: Mapped[str] = mapped_column(Code)
    institution_number: Mapped[str] = mapped_column(RegNo)
    is_open: Mapped[bool] = mapped_column(Boolean)
    sla_breached: Mapped[bool] = mapped_column(Boolean)
    resolve_seconds: Mapped[int | None] = mapped_column(BigInteger)


# Device use (see `service.usage`) -----------------------------------------------------------

IDLE = "idle_since IS NOT NULL"
NEVER_LENT = "idle_since IS NOT NULL AND NOT ever_lent"


class DeviceStatusChange(Base):
    """One version of a device: its status from `at` on. A device's use (loans, idleness,
    repairs) is computed from all of its versions, whatever order they arrived in."""

    __tablename__ = "device_status_change"

    device_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Label)


def _idle_index(name: str, where: str, *area: str) -> Index:
    return Index(name, *area, "idle_since", "device_id", postgresql_where=text(where))


class DeviceUsage(Base):
    """A device's use as its versions tell it: the rows of the idle-devices lists. Days are
    Rīga days; `idle_since` is set only for a lendable device not on loan (its last loan's
    end, else its delivery)."""

    __tablename__ = "device_usage"

    device_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    municipality_code: Mapped[str] = mapped_column(Code)
    institution_number: Mapped[str] = mapped_column(RegNo)
    category: Mapped[str] = mapped_column(Label)
    os: Mapped[str] = mapped_column(Label)
    funding_source: Mapped[str] = mapped_column(Label)
    status: Mapped[str] = mapped_column(Label)
    delivered_on: Mapped[dt.date] = mapped_column(Date)
    ever_available: Mapped[bool] = mapped_column(Boolean)
    ever_lent: Mapped[bool] = mapped_column(Boolean)
    last_loan_ended_on: Mapped[dt.date | None] = mapped_column(Date)
    status_since: Mapped[dt.date] = mapped_column(Date)  # e.g. a loan's or a repair's start
    idle_since: Mapped[dt.date | None] = mapped_column(Date)

    # Most idle first, per area, in keyset order: one partial index per list and area.
    __table_args__ = (
        _idle_index("ix_device_usage_idle", IDLE),
        _idle_index("ix_device_usage_idle_municipality", IDLE, "municipality_code"),
        _idle_index("ix_device_usage_idle_institution", IDLE, "institution_number"),
        _idle_index("ix_device_usage_never_lent", NEVER_LENT),
        _idle_index("ix_device_usage_never_lent_municipality", NEVER_LENT, "municipality_code"),
        _idle_index("ix_device_usage_never_lent_institution", NEVER_LENT, "institution_number"),
    )


# Counters ---------------------------------------------------------------------------------


class Where:
    """Municipality and institution: the first two key columns of every counter (so a
    municipality's or an institution's rows are one range of the primary key)."""

    municipality_code: Mapped[str] = mapped_column(Code, primary_key=True, sort_order=-2)
    institution_number: Mapped[str] = mapped_column(RegNo, primary_key=True, sort_order=-1)


class DeviceCount(Where, Base):
    """Devices by status, OS, category and funding source."""

    __tablename__ = "device_count"

    status: Mapped[str] = mapped_column(Label, primary_key=True)
    os: Mapped[str] = mapped_column(Label, primary_key=True)
    category: Mapped[str] = mapped_column(Label, primary_key=True)
    funding_source: Mapped[str] = mapped_column(Label, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class DeviceWarrantyCount(Where, Base):
    """Devices with a known warranty end, by that date (the rest have an unknown warranty)."""

    __tablename__ = "device_warranty_count"

    status: Mapped[str] = mapped_column(Label, primary_key=True)
    os: Mapped[str] = mapped_column(Label, primary_key=True)
    category: Mapped[str] = mapped_column(Label, primary_key=True)
    funding_source: Mapped[str] = mapped_column(Label, primary_key=True)
    warranty_ends_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class DeviceBandCount(Where, Base):
    """Devices in service for pupils (no accessories) by the grades they are meant for."""

    __tablename__ = "device_band_count"

    levels_mask: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class ReservationCount(Where, Base):
    """Reservations by state; `prioritised` when a social criterion gave them priority."""

    __tablename__ = "reservation_count"

    state: Mapped[str] = mapped_column(Label, primary_key=True)
    prioritised: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class LoanCount(Where, Base):
    """Loan contracts by state (`overdue`: active and past its period)."""

    __tablename__ = "loan_count"

    state: Mapped[str] = mapped_column(Label, primary_key=True)
    overdue: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class LoanCriterionCount(Where, Base):
    """Active loans by the social criterion of their reservation (`any` = any criterion)."""

    __tablename__ = "loan_criterion_count"

    criterion: Mapped[str] = mapped_column(Label, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class TicketCount(Where, Base):
    """Tickets open or resolved, SLA breached or not; resolution times summed for the mean."""

    __tablename__ = "ticket_count"

    is_open: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    sla_breached: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    timed: Mapped[int] = mapped_column(Integer)  # resolved tickets with a known duration
    resolve_seconds: Mapped[int] = mapped_column(BigInteger)


class DeviceUsageCount(Where, Base):
    """Devices by funding source, status, whether ever made available or lent, and `since`:
    the day a lendable device not on loan became idle, else the day its status began."""

    __tablename__ = "device_usage_count"

    funding_source: Mapped[str] = mapped_column(Label, primary_key=True)
    status: Mapped[str] = mapped_column(Label, primary_key=True)
    ever_available: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    ever_lent: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    since: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class LoanDayCount(Where, Base):
    """Loans of the devices lendable now, by their first and last Rīga day (a loan still
    running ends on 9999-12-31)."""

    __tablename__ = "loan_day_count"

    started_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    ended_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class DeviceOrderCount(Where, Base):
    """Devices by the order reference they were delivered under (any status: a device written
    off was still delivered), at their current institution."""

    __tablename__ = "device_order_count"

    order_reference: Mapped[str] = mapped_column(OrderRef, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


STATE_TABLES: tuple[Table, ...] = tuple(
    m.__table__
    for m in (
        DeviceState,
        ReservationState,
        ContractState,
        TicketState,
        DeviceStatusChange,
        DeviceUsage,
    )
)
COUNTER_TABLES: tuple[Table, ...] = tuple(
    m.__table__
    for m in (
        DeviceCount,
        DeviceWarrantyCount,
        DeviceBandCount,
        ReservationCount,
        LoanCount,
        LoanCriterionCount,
        TicketCount,
        DeviceUsageCount,
        LoanDayCount,
        DeviceOrderCount,
    )
)
# What `statistics-rebuild` recreates from the topics.
PROJECTION_TABLES = STATE_TABLES + COUNTER_TABLES + ALLOCATION_TABLES


class ProjectionEpoch(Base):
    """One row whose `version` grows with every change the views show (a batch of events that
    changed counters, a pupil refresh, a rebuild's swap): a view computed at epoch E is
    exactly the view while the epoch is still E, so it may be served again."""

    __tablename__ = "projection_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
