"""Inventory tables: reference data, catalogue, devices, history, imports."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared_kit import tables as kit_tables
from shared_kit.db import NAMING_CONVENTION, Timestamps, UUIDKey, Versioned


class Base(DeclarativeBase):
    """The inventory's own declarative base, with the kit's naming convention."""

    # Every model here maps a Table (SQLAlchemy types `__table__` as any FromClause).
    __table__: ClassVar[Table]
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def migration_metadata() -> MetaData:
    """This service's tables plus the kit's (outbox, inbox, dead letters, idempotency)."""
    return kit_tables.with_kit_tables(Base.metadata)


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class Category(StrEnum):
    """What kind of device a catalogue item is."""

    LAPTOP = "laptop"
    CHROMEBOOK = "chromebook"
    ALL_IN_ONE = "all_in_one"
    TABLET = "tablet"
    ACCESSORY = "accessory"


class OperatingSystem(StrEnum):
    """Operating systems in the ministry's catalogue."""

    WINDOWS = "windows"
    CHROMEOS = "chromeos"
    MACOS = "macos"
    LINUX = "linux"
    NONE = "none"


class FundingSource(StrEnum):
    """Programme that paid for a device (see the seed: three EU programmes plus budgets)."""

    REACT_EU = "react_eu"
    RECOVERY_FUND = "recovery_fund"
    EU_FUNDS_2021_2027 = "eu_funds_2021_2027"
    MUNICIPAL_BUDGET = "municipal_budget"
    OTHER = "other"


class Condition(StrEnum):
    """Physical condition as last recorded."""

    NEW = "new"
    GOOD = "good"
    FAIR = "fair"
    DAMAGED = "damaged"


class DeviceStatus(StrEnum):
    """Where a device is in its life."""

    IN_STOCK = "in_stock"
    AVAILABLE = "available"
    RESERVED = "reserved"
    ON_LOAN = "on_loan"
    IN_REPAIR = "in_repair"
    LOST = "lost"
    STOLEN = "stolen"
    WRITTEN_OFF = "written_off"


class Municipality(UUIDKey, Timestamps, Versioned, Base):
    """A local government (ATVK code) that owns a computer library."""

    __tablename__ = "municipality"

    code: Mapped[str] = mapped_column(String(7), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Institution(UUIDKey, Timestamps, Versioned, Base):
    """An education institution, keyed by its VIIS registration number."""

    __tablename__ = "institution"

    registration_number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipality.id"), index=True)
    municipality: Mapped[Municipality] = relationship(lazy="raise")
    # As VIIS lists them (empty for an institution registered by hand, until a VIIS import);
    # `viis_synced_at`: when a VIIS import last created or changed the row.
    address: Mapped[str | None] = mapped_column(String(300))
    grades: Mapped[list[int]] = mapped_column(JSONB, default=list, server_default="[]")
    viis_synced_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CatalogueItem(UUIDKey, Timestamps, Versioned, Base):
    """A model offered in the procurement catalogue, with its base configuration."""

    __tablename__ = "catalogue_item"

    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    manufacturer: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(200))
    category: Mapped[Category] = mapped_column(_enum(Category, "category"))
    os: Mapped[OperatingSystem] = mapped_column(_enum(OperatingSystem, "operating_system"))
    screen_inches: Mapped[Decimal | None] = mapped_column(Numeric(3, 1))
    touch: Mapped[bool] = mapped_column(default=False)
    specs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    base_warranty_months: Mapped[int] = mapped_column(Integer, default=36)
    school_levels: Mapped[list[str]] = mapped_column(JSONB, default=list)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (CheckConstraint("base_warranty_months >= 0", name="warranty_nonneg"),)


# How searches order by warranty end: a device without one after every date.
WARRANTY_ORDER = text("COALESCE(warranty_ends_on, '9999-12-31'::date)")


class Device(UUIDKey, Timestamps, Versioned, Base):
    """One physical device of a municipality's computer library."""

    __tablename__ = "device"

    serial_number: Mapped[str] = mapped_column(String(100), unique=True)
    asset_tag: Mapped[str] = mapped_column(String(60))
    catalogue_item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalogue_item.id"))
    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipality.id"))
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institution.id"))
    funding_source: Mapped[FundingSource] = mapped_column(_enum(FundingSource, "funding_source"))
    order_reference: Mapped[str | None] = mapped_column(String(100))
    delivery_date: Mapped[dt.date | None] = mapped_column(Date)
    purchase_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    extra_warranty_months: Mapped[int] = mapped_column(Integer, default=0)
    warranty_ends_on: Mapped[dt.date | None] = mapped_column(Date)
    insurer: Mapped[str | None] = mapped_column(String(200))
    insurance_policy: Mapped[str | None] = mapped_column(String(100))
    insured_until: Mapped[dt.date | None] = mapped_column(Date)
    condition: Mapped[Condition] = mapped_column(_enum(Condition, "condition"))
    accessories: Mapped[list[str]] = mapped_column(JSONB, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[DeviceStatus] = mapped_column(_enum(DeviceStatus, "device_status"))
    # Where a device in repair goes back to (on loan or available) when it is repaired.
    status_before_repair: Mapped[DeviceStatus | None] = mapped_column(
        _enum(DeviceStatus, "device_status")
    )

    catalogue_item: Mapped[CatalogueItem] = relationship(lazy="raise")
    municipality: Mapped[Municipality] = relationship(lazy="raise")
    institution: Mapped[Institution | None] = relationship(lazy="raise")

    __table_args__ = (
        UniqueConstraint("municipality_id", "asset_tag"),
        CheckConstraint("purchase_price >= 0", name="price_nonneg"),
        CheckConstraint("extra_warranty_months >= 0", name="extra_warranty_nonneg"),
        Index("ix_device_municipality_tag", "municipality_id", "asset_tag", "id"),
        Index("ix_device_institution_tag", "institution_id", "asset_tag", "id"),
        Index("ix_device_status", "status"),
        # Keyset order for searches across municipalities (analysts, platform admins).
        Index("ix_device_tag_order", "asset_tag", "id"),
        Index("ix_device_created_order", "created_at", "id"),
        Index("ix_device_warranty", "warranty_ends_on"),
        # Keyset order of the other sorts a search offers, in one municipality and across all
        # (migration 0005); a device without a warranty end sorts last.
        Index("ix_device_municipality_serial", "municipality_id", "serial_number", "id"),
        Index("ix_device_municipality_created", "municipality_id", "created_at", "id"),
        Index("ix_device_municipality_status", "municipality_id", "status", "id"),
        Index("ix_device_status_order", "status", "id"),
        Index("ix_device_municipality_warranty", "municipality_id", WARRANTY_ORDER, "id"),
        Index("ix_device_warranty_order", WARRANTY_ORDER, "id"),
        # Prefix search on serial numbers and asset tags (stored upper-case).
        Index(
            "ix_device_serial_prefix",
            "serial_number",
            postgresql_ops={"serial_number": "varchar_pattern_ops"},
        ),
        Index(
            "ix_device_tag_prefix", "asset_tag", postgresql_ops={"asset_tag": "varchar_pattern_ops"}
        ),
    )


class DeviceHistory(UUIDKey, Base):
    """One change of a device: who, when, what (field → [old, new])."""

    __tablename__ = "device_history"

    # seq orders a device's entries even inside one transaction (where now() is constant).
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    device_version: Mapped[int] = mapped_column(Integer)
    correlation_id: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (Index("ix_device_history_device_seq", "device_id", "seq"),)


class DeviceHold(Base):
    """An approved reservation that holds a device (from the reservations service's events).

    A device may be held by several reservations for later, non-overlapping periods; it shows
    `reserved` while any hold is left, and a release of one leaves the others standing. A hold
    the loan took over stays as a tombstone (`released_at`), so an approval that arrives after
    its loan (events of two topics have no common order) holds nothing. A reservation's own
    release (cancelled, expired, rejected, device withdrawn) comes in order with its approvals
    and deletes the hold: the reservation approved again with that device holds it again.
    """

    __tablename__ = "device_hold"

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    reservation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ImportState(StrEnum):
    """Where an import is: a background one is queued, then running, then done (or failed,
    when an all-or-nothing file had invalid rows); a synchronous one is done at once."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DeviceImport(UUIDKey, Base):
    """A bulk import of a delivery, with its per-row report (the failed rows, each with its
    original cells under `cells`, so that they can be given back as a CSV to fix)."""

    __tablename__ = "device_import"

    municipality_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("municipality.id"))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str | None] = mapped_column(String(300))
    mode: Mapped[str] = mapped_column(String(20))
    dry_run: Mapped[bool] = mapped_column(default=False)
    actor: Mapped[str] = mapped_column(String(200))
    total_rows: Mapped[int] = mapped_column(Integer)
    created_rows: Mapped[int] = mapped_column(Integer)
    unchanged_rows: Mapped[int] = mapped_column(Integer)
    failed_rows: Mapped[int] = mapped_column(Integer)
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    state: Mapped[ImportState] = mapped_column(
        _enum(ImportState, "import_state"), server_default=ImportState.DONE.value
    )
    processed_rows: Mapped[int] = mapped_column(Integer, server_default="0")
    # The file's header, for the rejected rows' CSV.
    columns: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    # A background import's file, kept until it is done; its lease while a worker has it.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    lease_owner: Mapped[uuid.UUID | None] = mapped_column()
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    correlation_id: Mapped[str | None] = mapped_column(String(100))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_device_import_municipality_created", "municipality_id", "created_at", "id"),
        Index(
            "ix_device_import_pending",
            "created_at",
            postgresql_where=text("state IN ('queued', 'running')"),
        ),
    )
