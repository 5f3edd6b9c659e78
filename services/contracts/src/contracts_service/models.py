"""Contracts tables: loan contracts, their immutable documents, signatures, returns, lenders,
and the device read model fed by the inventory's events.

A contract document (every rendered version, and the sealed final) is insert-only: a trigger
in the migration refuses UPDATE and DELETE on `contract_document`, so a stored PDF and its
SHA-256 can never change. Personal codes are kept only encrypted (Fernet), on the contract.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
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
    """Contracts' own declarative base, with the kit's naming convention.

    The device read model reuses the inventory's table name (`device`); on the kit's shared
    metadata the services could not be imported into one process (the test suite,
    `contracts/build.py`). Each service has its own database, so nothing else changes.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def migration_metadata() -> MetaData:
    """This service's tables plus the kit's (outbox, inbox, dead letters, idempotency)."""
    return kit_tables.with_kit_tables(Base.metadata)


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


def _at() -> Mapped[dt.datetime | None]:
    return mapped_column(DateTime(timezone=True))


class ContractState(StrEnum):
    """Where a loan contract is in its life."""

    DRAFTED = "drafted"  # rendered, not yet open for signing (the lender's details are missing)
    AWAITING_BORROWER = "awaiting_borrower"
    AWAITING_LENDER = "awaiting_lender"
    ACTIVE = "active"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    TERMINATED = "terminated"


UNSIGNED = (ContractState.DRAFTED, ContractState.AWAITING_BORROWER, ContractState.AWAITING_LENDER)


class LenderKind(StrEnum):
    """A lender is a municipality (ATVK code) or an education institution (VIIS number)."""

    MUNICIPALITY = "municipality"
    INSTITUTION = "institution"


class DocumentKind(StrEnum):
    """A rendered version for signing, or the sealed final."""

    DRAFT = "draft"
    SEALED = "sealed"


class Party(StrEnum):
    """Who signs."""

    BORROWER = "borrower"
    LENDER = "lender"


class ReturnCondition(StrEnum):
    """Condition of a device as recorded at its return."""

    GOOD = "good"
    DAMAGED = "damaged"
    ACCESSORIES_MISSING = "accessories_missing"


class Lender(UUIDKey, Timestamps, Versioned, Base):
    """Legal details of a lender, as printed in its contracts."""

    __tablename__ = "lender"

    kind: Mapped[LenderKind] = mapped_column(_enum(LenderKind, "lender_kind"))
    code: Mapped[str] = mapped_column(String(20))  # ATVK code or VIIS registration number
    municipality_code: Mapped[str] = mapped_column(String(7), index=True)
    name: Mapped[str] = mapped_column(String(300))
    registration_number: Mapped[str] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(500))
    representative: Mapped[str] = mapped_column(String(300))

    __table_args__ = (UniqueConstraint("kind", "code"),)


class Device(Base):
    """The inventory's device as last seen in its events (read model)."""

    __tablename__ = "device"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    inventory_version: Mapped[int] = mapped_column(Integer)  # the inventory's `version`
    asset_tag: Mapped[str] = mapped_column(String(60))
    serial_number: Mapped[str] = mapped_column(String(100))
    municipality_code: Mapped[str] = mapped_column(String(7))
    institution_number: Mapped[str | None] = mapped_column(String(20))
    catalogue_item_code: Mapped[str] = mapped_column(String(60))
    category: Mapped[str] = mapped_column(String(40))
    manufacturer: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    accessories: Mapped[list[str]] = mapped_column(JSONB, default=list)
    purchase_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    insured_until: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(30))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Contract(UUIDKey, Timestamps, Versioned, Base):
    """A loan agreement (patapinājuma līgums) for one reservation."""

    __tablename__ = "contract"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    reservation_id: Mapped[uuid.UUID] = mapped_column(index=True)
    device_id: Mapped[uuid.UUID] = mapped_column(index=True)
    municipality_code: Mapped[str] = mapped_column(String(7))
    institution_number: Mapped[str] = mapped_column(String(20))
    learner_id: Mapped[str] = mapped_column(String(100))
    borrower_id: Mapped[uuid.UUID] = mapped_column(index=True)
    borrower_given_name: Mapped[str | None] = mapped_column(String(200))
    borrower_family_name: Mapped[str | None] = mapped_column(String(200))
    borrower_personal_code_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    period_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[ContractState] = mapped_column(_enum(ContractState, "contract_state"))
    template_version: Mapped[str] = mapped_column(String(40))
    # What the documents print, personal code excepted (that is only in the PDF itself).
    terms: Mapped[dict[str, Any]] = mapped_column(JSONB)
    current_document: Mapped[int] = mapped_column(Integer, default=1)
    lender_complete: Mapped[bool] = mapped_column(default=False)
    sign_by: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    drafted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    borrower_signed_at: Mapped[dt.datetime | None] = _at()
    lender_signed_at: Mapped[dt.datetime | None] = _at()
    activated_at: Mapped[dt.datetime | None] = _at()
    returned_at: Mapped[dt.datetime | None] = _at()
    cancelled_at: Mapped[dt.datetime | None] = _at()
    expired_at: Mapped[dt.datetime | None] = _at()
    terminated_at: Mapped[dt.datetime | None] = _at()
    overdue_since: Mapped[dt.datetime | None] = _at()
    end_reason: Mapped[str | None] = mapped_column(Text)
    # The device was confirmed lost or stolen during the loan (the tickets service says so).
    device_loss: Mapped[str | None] = mapped_column(String(10))
    device_loss_at: Mapped[dt.datetime | None] = _at()
    device_loss_ticket_id: Mapped[uuid.UUID | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("period_end > period_start", name="period_order"),
        CheckConstraint("device_loss IN ('lost', 'stolen')", name="device_loss_kind"),
        Index("ix_contract_institution_order", "institution_number", "created_at", "id"),
        Index("ix_contract_municipality_order", "municipality_code", "created_at", "id"),
        Index("ix_contract_borrower_order", "borrower_id", "created_at", "id"),
        Index("ix_contract_created_order", "created_at", "id"),
        Index("ix_contract_state_sign_by", "state", "sign_by"),
        Index("ix_contract_state_period_end", "state", "period_end"),
        # One contract per reservation, except those cancelled (a withdrawn device's).
        Index(
            "uq_contract_live_reservation",
            "reservation_id",
            unique=True,
            postgresql_where=text("state <> 'cancelled'"),
        ),
    )


class ContractDocument(UUIDKey, Base):
    """One immutable PDF of a contract: a version to sign, or the sealed final."""

    __tablename__ = "contract_document"

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind, "document_kind"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    template_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("contract_id", "number"),)


class Signature(UUIDKey, Base):
    """Who signed which document version, when, how they had logged in, and from where."""

    __tablename__ = "signature"

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"), index=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract_document.id"))
    party: Mapped[Party] = mapped_column(_enum(Party, "party"))
    signer_id: Mapped[str] = mapped_column(String(200))
    signer_name: Mapped[str | None] = mapped_column(String(400))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    idp: Mapped[str | None] = mapped_column(String(40))
    amr: Mapped[list[str]] = mapped_column(JSONB, default=list)
    auth_time: Mapped[dt.datetime | None] = _at()
    document_sha256: Mapped[str] = mapped_column(String(64))
    consent_version: Mapped[str] = mapped_column(String(40))
    client_address: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(500))

    document: Mapped[ContractDocument] = relationship(lazy="raise")

    # One signature per party and contract: a second one is "signing twice".
    __table_args__ = (UniqueConstraint("contract_id", "party"),)


class ContractReturn(UUIDKey, Base):
    """The device came back: its condition, notes and who recorded it."""

    __tablename__ = "contract_return"

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"), unique=True)
    condition: Mapped[ReturnCondition] = mapped_column(_enum(ReturnCondition, "return_condition"))
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ReturnPhoto(UUIDKey, Base):
    """A photo taken at a return, as the kit's `uploads` stored it (re-encoded, no metadata)."""

    __tablename__ = "return_photo"

    return_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contract_return.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)  # upload order
    filename: Mapped[str | None] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("return_id", "position"),)
