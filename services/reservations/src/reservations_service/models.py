"""Reservations tables: the inventory read model, policies, the reservations themselves, and
the learners' criteria verified in planning's needs survey.

The read model (`device`, `institution`) is this service's own copy of what the inventory
publishes; it is never written by the API. Category and OS are plain strings there, so a new
value in the inventory's catalogue does not break this consumer.

Double booking is impossible in the database: `reservation.period` is a `tstzrange` generated
from `[period_start, period_end)`, and an exclusion constraint forbids two reservations in an
allocating state (`approved`, `fulfilled`) from sharing a device over overlapping periods.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSTZRANGE, ExcludeConstraint, Range
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared_kit import tables as kit_tables
from shared_kit.db import NAMING_CONVENTION, Timestamps, UUIDKey, Versioned


class Base(DeclarativeBase):
    """Reservations' own declarative base, with the kit's naming convention.

    The read model reuses the inventory's table names (`device`, `institution`); on the kit's
    shared metadata the two services could not be imported into one process (the test suite,
    `contracts/build.py`). Each service has its own database, so nothing else changes.
    """

    # Every model here maps a Table (SQLAlchemy types `__table__` as any FromClause).
    __table__: ClassVar[Table]
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def migration_metadata() -> MetaData:
    """This service's tables plus the kit's (outbox, inbox, dead letters, idempotency)."""
    return kit_tables.with_kit_tables(Base.metadata)


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class ReservationState(StrEnum):
    """Where a reservation is in its life."""

    REQUESTED = "requested"
    WAITLISTED = "waitlisted"
    APPROVED = "approved"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


# States in which a reservation holds its device; the exclusion constraint covers exactly these.
ALLOCATING = (ReservationState.APPROVED, ReservationState.FULFILLED)
WAITING = (ReservationState.REQUESTED, ReservationState.WAITLISTED)


class Beneficiary(StrEnum):
    """Whom the device is for: a learner, or (reserved by school staff) a teacher or a class."""

    LEARNER = "learner"
    TEACHER = "teacher"
    CLASS = "class"


class Institution(Base):
    """An institution seen in device snapshots: registration number → municipality."""

    __tablename__ = "institution"

    registration_number: Mapped[str] = mapped_column(String(20), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(7), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Device(Base):
    """The inventory's device as this service needs it (applied only when its version is newer)."""

    __tablename__ = "device"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    inventory_version: Mapped[int] = mapped_column(Integer)
    municipality_code: Mapped[str] = mapped_column(String(7))
    institution_number: Mapped[str | None] = mapped_column(String(20))
    catalogue_item_code: Mapped[str] = mapped_column(String(60))
    category: Mapped[str] = mapped_column(String(40))
    os: Mapped[str] = mapped_column(String(40))
    screen_inches: Mapped[Decimal | None] = mapped_column(Numeric(3, 1))
    touch: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (Index("ix_device_institution_status", "institution_number", "status"),)


class Policy(Timestamps, Versioned, Base):
    """A municipality's reservation rules; a municipality without a row uses the defaults."""

    __tablename__ = "policy"

    municipality_code: Mapped[str] = mapped_column(String(7), primary_key=True)
    auto_approve: Mapped[bool] = mapped_column(Boolean)
    max_active_per_learner: Mapped[int] = mapped_column(Integer)
    max_period_days: Mapped[int] = mapped_column(Integer)
    pickup_days: Mapped[int] = mapped_column(Integer)
    school_year_end: Mapped[str] = mapped_column(String(5))  # "MM-DD", local midnight
    updated_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("max_active_per_learner >= 1", name="max_active_positive"),
        CheckConstraint("max_period_days >= 1", name="max_period_positive"),
        CheckConstraint("pickup_days >= 1", name="pickup_positive"),
    )


class Reservation(UUIDKey, Timestamps, Versioned, Base):
    """A request for a device for a period, and (once allocated) the device it holds."""

    __tablename__ = "reservation"

    municipality_code: Mapped[str] = mapped_column(String(7))
    institution_number: Mapped[str] = mapped_column(ForeignKey("institution.registration_number"))
    beneficiary: Mapped[Beneficiary] = mapped_column(_enum(Beneficiary, "beneficiary"))
    learner_id: Mapped[str] = mapped_column(String(100))
    requested_by: Mapped[str] = mapped_column(String(200))
    # What was asked for: one device, or any device matching the criteria (all optional).
    requested_device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    category: Mapped[str | None] = mapped_column(String(40))
    os: Mapped[str | None] = mapped_column(String(40))
    screen_inches: Mapped[Decimal | None] = mapped_column(Numeric(3, 1))
    min_screen_inches: Mapped[Decimal | None] = mapped_column(Numeric(3, 1))
    max_screen_inches: Mapped[Decimal | None] = mapped_column(Numeric(3, 1))
    touch: Mapped[bool | None] = mapped_column(Boolean)
    catalogue_item_code: Mapped[str | None] = mapped_column(String(60))
    social_criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # The learner's criteria verified in planning's needs survey, as they counted in the score
    # (kept current while the request waits; the family never declares them again).
    verified_criteria: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    priority_score: Mapped[int] = mapped_column(Integer)
    state: Mapped[ReservationState] = mapped_column(_enum(ReservationState, "reservation_state"))
    # The allocated device; kept after the reservation ends, for history and for the events.
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    period_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    period: Mapped[Range[dt.datetime]] = mapped_column(
        TSTZRANGE, Computed("tstzrange(period_start, period_end, '[)')", persisted=True)
    )
    pickup_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # A loaner: the repair or loss ticket it replaces a device for (one reservation per ticket).
    loaner_ticket_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)

    __table_args__ = (
        # A loan that ends early may end at its start (an empty range), never before it.
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint(
            "device_id IS NOT NULL OR state NOT IN ('approved', 'fulfilled')",
            name="allocated_has_device",
        ),
        ExcludeConstraint(
            (text("device_id"), "="),
            (text("period"), "&&"),
            name="ex_reservation_device_period",
            using="gist",
            where=text("state IN ('approved', 'fulfilled')"),
        ),
        Index("ix_reservation_waitlist", "institution_number", "state", "priority_score"),
        Index("ix_reservation_learner_state", "learner_id", "state"),
        Index("ix_reservation_order", "requested_at", "id"),
        Index("ix_reservation_institution_order", "institution_number", "requested_at", "id"),
        Index("ix_reservation_municipality_order", "municipality_code", "requested_at", "id"),
        Index("ix_reservation_device_state", "device_id", "state"),
        Index(
            "ix_reservation_pickup", "pickup_deadline", postgresql_where=text("state = 'approved'")
        ),
        Index(
            "ix_reservation_waiting_end",
            "period_end",
            postgresql_where=text("state IN ('requested', 'waitlisted')"),
        ),
    )


class LearnerCriterion(Base):
    """A learner's priority criterion verified in planning's needs survey (its events' copy).

    One row per round and source: a criterion withdrawn in one round may still hold from
    another, or from the other source.
    """

    __tablename__ = "learner_criterion"

    learner_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    criterion: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    round_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
