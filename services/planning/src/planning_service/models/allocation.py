"""Allocation tables: rounds, their stored inputs, the computed lines, adjustments, moves,
orders, and the devices held per school (from the inventory's events).

A round's inputs (`allocation_input`, one row per school) are taken once and kept, so its
result can be recomputed and explained years later whatever VIIS or the inventory say by then.
Exact figures (shares, remainders) are stored as fractions (`"p/q"` text), weights as decimals
with the rule's six places.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from planning_service.models.base import Base, db_enum
from shared_kit.db import Timestamps, UUIDKey, Versioned


class AllocationState(StrEnum):
    """Where a round is: set up, computed (may be recomputed), published (final)."""

    DRAFT = "draft"
    COMPUTED = "computed"
    PUBLISHED = "published"


class TransferKind(StrEnum):
    """Who moved devices between schools: the programme manager or a municipality."""

    ADJUSTMENT = "adjustment"
    MOVE = "move"


class AllocationRound(UUIDKey, Timestamps, Versioned, Base):
    """A procurement to spread, with the rule's parameters."""

    __tablename__ = "allocation_round"

    title: Mapped[str] = mapped_column(String(200))
    funding_programme: Mapped[str] = mapped_column(String(200))
    order_reference: Mapped[str] = mapped_column(String(100))
    devices: Mapped[int] = mapped_column(Integer)
    grade_bands: Mapped[list[str]] = mapped_column(JSONB)
    target_ratio: Mapped[dict[str, str]] = mapped_column(JSONB)  # band → pupils per device
    subtract_devices_held: Mapped[bool] = mapped_column(Boolean)
    survey_round_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    survey_weight: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    social_weights: Mapped[dict[str, str]] = mapped_column(JSONB)
    min_eligible_pupils: Mapped[int] = mapped_column(Integer)
    size_bands: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    cap_per_school: Mapped[int | None] = mapped_column(Integer)
    municipalities: Mapped[list[str]] = mapped_column(JSONB)  # filter; empty = all
    institutions: Mapped[list[str]] = mapped_column(JSONB)  # filter; empty = all
    state: Mapped[AllocationState] = mapped_column(
        db_enum(AllocationState, "allocation_state"), default=AllocationState.DRAFT
    )
    created_by: Mapped[str] = mapped_column(String(200))
    municipality_names: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    inputs_taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    computed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(String(200))
    unallocated: Mapped[int | None] = mapped_column(Integer)
    # The pools of schools below the minimum: [{municipality_code, share, schools, to}].
    pools: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)

    __table_args__ = (
        CheckConstraint("devices > 0", name="devices_positive"),
        Index("ix_allocation_round_created", "created_at", "id"),
    )


class AllocationInput(Base):
    """A school's inputs as taken for a round: pupils per grade (VIIS), devices held per band
    (the inventory's events), survey figures (the survey round)."""

    __tablename__ = "allocation_input"

    round_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("allocation_round.id", ondelete="CASCADE"), primary_key=True
    )
    institution_number: Mapped[str] = mapped_column(String(20), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(7))
    name: Mapped[str] = mapped_column(String(300))
    pupils: Mapped[dict[str, int]] = mapped_column(JSONB)  # grade → pupils
    devices_held: Mapped[dict[str, int]] = mapped_column(JSONB)  # band → devices
    survey: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class AllocationLine(Base):
    """A school's result in a round, with its explanation, and what happened to it since."""

    __tablename__ = "allocation_line"

    round_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("allocation_round.id", ondelete="CASCADE"), primary_key=True
    )
    institution_number: Mapped[str] = mapped_column(String(20), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(7))
    name: Mapped[str] = mapped_column(String(300))
    eligible_pupils: Mapped[dict[str, int]] = mapped_column(JSONB)  # band → pupils
    eligible_total: Mapped[int] = mapped_column(Integer)
    devices_held: Mapped[dict[str, int]] = mapped_column(JSONB)  # band → devices
    ratio_need: Mapped[int] = mapped_column(Integer)
    survey_need: Mapped[int] = mapped_column(Integer)
    need: Mapped[int] = mapped_column(Integer)
    social_factor: Mapped[str] = mapped_column(Text)  # exact fraction
    weight: Mapped[Decimal] = mapped_column(Numeric(24, 6))
    share: Mapped[str] = mapped_column(Text)  # exact fraction
    floor: Mapped[int] = mapped_column(Integer)
    remainder: Mapped[str] = mapped_column(Text)  # exact fraction
    rounded_up: Mapped[bool] = mapped_column(Boolean)
    capped: Mapped[bool] = mapped_column(Boolean)
    pooled: Mapped[bool] = mapped_column(Boolean)
    computed: Mapped[int] = mapped_column(Integer)
    adjustments: Mapped[int] = mapped_column(Integer, default=0)
    moves: Mapped[int] = mapped_column(Integer, default=0)
    allocated: Mapped[int] = mapped_column(Integer)
    ordered: Mapped[int | None] = mapped_column(Integer)
    ordered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ordered_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("allocated >= 0", name="allocated_not_negative"),
        Index("ix_allocation_line_municipality", "round_id", "municipality_code"),
    )


class AllocationTransfer(UUIDKey, Base):
    """Devices moved from one school to another (an adjustment or a move), audited."""

    __tablename__ = "allocation_transfer"

    round_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("allocation_round.id", ondelete="CASCADE")
    )
    kind: Mapped[TransferKind] = mapped_column(db_enum(TransferKind, "transfer_kind"))
    from_institution: Mapped[str] = mapped_column(String(20))
    from_municipality: Mapped[str] = mapped_column(String(7))
    to_institution: Mapped[str] = mapped_column(String(20))
    to_municipality: Mapped[str] = mapped_column(String(7))
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_allocation_transfer_round", "round_id", "kind", "at", "id"),
    )


class HeldDevice(Base):
    """The inventory's device as planning counts it (applied only when its version is newer)."""

    __tablename__ = "held_device"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    inventory_version: Mapped[int] = mapped_column(Integer)
    municipality_code: Mapped[str] = mapped_column(String(7))
    institution_number: Mapped[str | None] = mapped_column(String(20))
    levels_mask: Mapped[int] = mapped_column(Integer)  # bit g for each grade; 0 = any level
    status: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (Index("ix_held_device_institution", "institution_number"),)
