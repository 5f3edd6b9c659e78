"""The declarative base of planning's tables and the metadata its migrations compare."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum, MetaData
from sqlalchemy.orm import DeclarativeBase

from shared_kit import tables as kit_tables
from shared_kit.db import NAMING_CONVENTION


class Base(DeclarativeBase):
    """Planning's own declarative base, with the kit's naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def migration_metadata() -> MetaData:
    """This service's tables plus the kit's (outbox, inbox, dead letters, idempotency)."""
    return kit_tables.with_kit_tables(Base.metadata)


def db_enum(cls: type[StrEnum], name: str) -> Enum:
    """A PostgreSQL enum of a StrEnum's values."""
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])
