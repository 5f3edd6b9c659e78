"""The types and the declarative base every statistics table shares."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    MetaData,
    String,
    Table,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared_kit import tables as kit_tables
from shared_kit.db import NAMING_CONVENTION

Code = String(7)  # municipality ATVK code
RegNo = String(20)  # institution registration number ('' in counters for "none")
Label = String(40)  # status, OS, category, funding source, state
EventId = String(200)
OrderRef = String(100)  # a procurement's order reference (the inventory's column)


class Base(DeclarativeBase):
    """Statistics' own declarative base, with the kit's naming convention.

    Like the reservations read model, some table names (`institution`) also exist in other
    services; a base of its own keeps them apart when several services share one process.
    """

    # Every model here maps a Table (SQLAlchemy types `__table__` as any FromClause).
    __table__: ClassVar[Table]
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def migration_metadata() -> MetaData:
    """This service's tables plus the kit's (outbox, inbox, dead letters, idempotency)."""
    return kit_tables.with_kit_tables(Base.metadata)


class OrderKey:
    """The order key of the last event applied to an aggregate."""

    version: Mapped[int | None] = mapped_column(BigInteger)
    event_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    event_id: Mapped[str] = mapped_column(EventId)
