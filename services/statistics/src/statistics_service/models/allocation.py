"""Planning's published allocation rounds and their per-school numbers (from its events).

`allocation_line.allocated` is the school's number as of the round version in
`allocated_version` (publication, or a later adjustment or move: each event carries the two
schools' numbers after it), so late and repeated events never set an older number; `ordered`
is the latest order figure by its time (`ordered_at`). Delivered devices are not stored here:
they are the inventory's devices counted by order reference (`device_order_count`).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from statistics_service.models.base import Base, Code, Label, OrderRef, RegNo


class AllocationRound(Base):
    """A published allocation round."""

    __tablename__ = "allocation_round"

    round_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    funding_programme: Mapped[str] = mapped_column(String(200))
    order_reference: Mapped[str] = mapped_column(OrderRef, index=True)
    devices: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(Label)
    version: Mapped[int] = mapped_column(BigInteger)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AllocationLine(Base):
    """A school's allocated and ordered numbers in a round."""

    __tablename__ = "allocation_line"

    round_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    institution_number: Mapped[str] = mapped_column(RegNo, primary_key=True)
    municipality_code: Mapped[str] = mapped_column(Code)
    allocated: Mapped[int] = mapped_column(Integer)
    allocated_version: Mapped[int] = mapped_column(BigInteger)  # -1: no number yet
    ordered: Mapped[int] = mapped_column(Integer)
    ordered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_allocation_line_municipality", "round_id", "municipality_code"),)


ALLOCATION_TABLES: tuple[Table, ...] = (
    AllocationRound.__table__,
    AllocationLine.__table__,
)
