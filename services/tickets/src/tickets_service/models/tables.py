"""The tickets' tables (see the package's docstring), and the plain record of a new ticket."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Interval,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared_kit.db import Timestamps, UUIDKey, Versioned
from tickets_service.models.base import (
    Base,
    Category,
    ClaimStatus,
    ContactPreference,
    ReporterKind,
    Severity,
    TicketSource,
    TicketState,
    Visibility,
    at_column,
    pg_enum,
)


class Device(Base):
    """The inventory's device as this service needs it (applied only when its version is newer)."""

    __tablename__ = "device"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    inventory_version: Mapped[int] = mapped_column(Integer)
    asset_tag: Mapped[str] = mapped_column(String(60))
    municipality_code: Mapped[str] = mapped_column(String(7))
    institution_number: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    os: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(40))
    warranty_ends_on: Mapped[dt.date | None] = mapped_column(Date)
    insured_until: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (Index("ix_device_asset_tag", "asset_tag"),)


class Loan(Base):
    """A loan contract as the contracts service announced it: who has which device."""

    __tablename__ = "loan"

    contract_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column()
    municipality_code: Mapped[str] = mapped_column(String(7))
    institution_number: Mapped[str] = mapped_column(String(20))
    borrower_id: Mapped[str] = mapped_column(String(100))  # the guardian's platform person id
    learner_id: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean)
    activated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = at_column()

    __table_args__ = (Index("ix_loan_device_active", "device_id", postgresql_where=text("active")),)


class SlaPolicy(Timestamps, Versioned, Base):
    """A municipality's SLA targets for one severity; missing rows use the defaults."""

    __tablename__ = "sla_policy"

    municipality_code: Mapped[str] = mapped_column(String(7), primary_key=True)
    severity: Mapped[Severity] = mapped_column(pg_enum(Severity, "severity"), primary_key=True)
    response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("response_minutes >= 1", name="response_positive"),
        CheckConstraint("resolution_minutes >= response_minutes", name="resolution_after_response"),
    )


class Ticket(UUIDKey, Timestamps, Versioned, Base):
    """A problem report for one device, and the work on it."""

    __tablename__ = "ticket"

    number: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    device_id: Mapped[uuid.UUID] = mapped_column()
    asset_tag: Mapped[str | None] = mapped_column(String(60))
    # Routing: the device's owner municipality (its support queue) and institution.
    municipality_code: Mapped[str] = mapped_column(String(7))
    institution_number: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[Category] = mapped_column(pg_enum(Category, "ticket_category"))
    severity: Mapped[Severity] = mapped_column(pg_enum(Severity, "severity"))
    state: Mapped[TicketState] = mapped_column(pg_enum(TicketState, "ticket_state"))
    description: Mapped[str] = mapped_column(Text)
    contact_preference: Mapped[ContactPreference] = mapped_column(
        pg_enum(ContactPreference, "contact_preference")
    )
    police_report_number: Mapped[str | None] = mapped_column(String(60))
    source: Mapped[TicketSource] = mapped_column(pg_enum(TicketSource, "ticket_source"))
    reporter_id: Mapped[str] = mapped_column(String(200))
    reporter_kind: Mapped[ReporterKind] = mapped_column(pg_enum(ReporterKind, "reporter_kind"))
    # Whether `reporter_id` is a person's subject (not a machine client's id or an institution),
    # so that events may name the reporter for the notifications service.
    reporter_is_person: Mapped[bool] = mapped_column(
        Boolean, server_default=text("false"), default=False
    )
    # The loan the device was on when reported (if any): whose child is without a computer.
    contract_id: Mapped[uuid.UUID | None] = mapped_column()
    learner_id: Mapped[str | None] = mapped_column(String(100))
    borrower_id: Mapped[str | None] = mapped_column(String(100))
    repair: Mapped[bool] = mapped_column(Boolean)
    warranty_claim: Mapped[bool] = mapped_column(Boolean)
    return_photo_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)
    assignee_id: Mapped[str | None] = mapped_column(String(200))
    assigned_at: Mapped[dt.datetime | None] = at_column()
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # SLA: targets fixed at opening (or on a severity change), clocks as instants.
    response_target_minutes: Mapped[int] = mapped_column(Integer)
    resolution_target_minutes: Mapped[int] = mapped_column(Integer)
    first_response_at: Mapped[dt.datetime | None] = at_column()
    response_due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    response_breached_at: Mapped[dt.datetime | None] = at_column()
    paused_total: Mapped[dt.timedelta] = mapped_column(
        Interval, server_default=text("'0 seconds'::interval"), default=dt.timedelta(0)
    )
    paused_since: Mapped[dt.datetime | None] = at_column()
    resolution_due_at: Mapped[dt.datetime | None] = at_column()
    resolution_breached_at: Mapped[dt.datetime | None] = at_column()
    resolved_at: Mapped[dt.datetime | None] = at_column()
    resolution: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None] = at_column()
    # Effects on the device, each published once per occasion.
    repair_started_at: Mapped[dt.datetime | None] = at_column()
    repair_completed_at: Mapped[dt.datetime | None] = at_column()
    loss_confirmed_at: Mapped[dt.datetime | None] = at_column()
    loaner_requested_at: Mapped[dt.datetime | None] = at_column()
    loaner_requested_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_ticket_order", "opened_at", "id"),
        Index("ix_ticket_municipality_order", "municipality_code", "opened_at", "id"),
        Index(
            "ix_ticket_open_queue",
            "municipality_code",
            "opened_at",
            "id",
            postgresql_where=text("state NOT IN ('resolved', 'closed')"),
        ),
        Index("ix_ticket_institution_order", "institution_number", "opened_at", "id"),
        Index("ix_ticket_reporter_order", "reporter_id", "opened_at", "id"),
        Index("ix_ticket_device", "device_id"),
        Index(
            "ix_ticket_response_due",
            "response_due_at",
            postgresql_where=text("first_response_at IS NULL AND response_breached_at IS NULL"),
        ),
        Index(
            "ix_ticket_resolution_due",
            "resolution_due_at",
            postgresql_where=text(
                "resolution_due_at IS NOT NULL AND resolution_breached_at IS NULL"
            ),
        ),
        # One automatic ticket per returned contract: a redelivered event finds it.
        Index(
            "uq_ticket_contract_return",
            "contract_id",
            unique=True,
            postgresql_where=text("source = 'contract_return'"),
        ),
    )


@dataclass(slots=True, kw_only=True)
class NewTicket:
    """A reported ticket before it is written: `Ticket`'s columns as plain attributes.

    A report writes its ticket in one Core statement (`repository.reports`) and answers from
    the values it wrote, so it needs no mapped object: building a `Ticket` and reading it back
    through SQLAlchemy's instrumented attributes cost more than half of the report's own Python
    work on it (in process: 370 µs against 148 µs on this class). The fields are the table's
    columns in their order but the database's timestamps (`TICKET_COLUMNS`, checked by a
    test); the clocks come from `sla.opening`, and what a new ticket does not have yet is None.
    """

    number: int
    device_id: uuid.UUID
    asset_tag: str | None
    municipality_code: str
    institution_number: str | None
    category: Category
    severity: Severity
    state: TicketState = TicketState.NEW
    description: str
    contact_preference: ContactPreference
    police_report_number: str | None
    source: TicketSource
    reporter_id: str
    reporter_kind: ReporterKind
    reporter_is_person: bool
    contract_id: uuid.UUID | None
    learner_id: str | None
    borrower_id: str | None
    repair: bool
    warranty_claim: bool
    return_photo_ids: list[str] = field(default_factory=list)
    assignee_id: str | None = None
    assigned_at: dt.datetime | None = None
    opened_at: dt.datetime
    response_target_minutes: int
    resolution_target_minutes: int
    first_response_at: dt.datetime | None = None
    response_due_at: dt.datetime
    response_breached_at: dt.datetime | None = None
    paused_total: dt.timedelta = dt.timedelta(0)
    paused_since: dt.datetime | None = None
    resolution_due_at: dt.datetime | None
    resolution_breached_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    resolution: str | None = None
    closed_at: dt.datetime | None = None
    repair_started_at: dt.datetime | None = None
    repair_completed_at: dt.datetime | None = None
    loss_confirmed_at: dt.datetime | None = None
    loaner_requested_at: dt.datetime | None = None
    loaner_requested_by: str | None = None
    id: uuid.UUID
    version: int = 1


class Comment(UUIDKey, Base):
    """A public or internal comment on a ticket."""

    __tablename__ = "ticket_comment"

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ticket.id"))
    author_id: Mapped[str] = mapped_column(String(200))
    author_is_staff: Mapped[bool] = mapped_column(Boolean)
    visibility: Mapped[Visibility] = mapped_column(pg_enum(Visibility, "comment_visibility"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_ticket_comment_order", "ticket_id", "created_at", "id"),)


class Transition(UUIDKey, Base):
    """Who moved a ticket from which state to which, when (the audit trail)."""

    __tablename__ = "ticket_transition"

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ticket.id"), index=True)
    from_state: Mapped[TicketState | None] = mapped_column(pg_enum(TicketState, "ticket_state"))
    to_state: Mapped[TicketState] = mapped_column(pg_enum(TicketState, "ticket_state"))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Photo(UUIDKey, Base):
    """A photo of the problem, as the kit's `uploads` stored it (re-encoded, no metadata)."""

    __tablename__ = "ticket_photo"

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ticket.id"))
    position: Mapped[int] = mapped_column(Integer)  # upload order
    filename: Mapped[str | None] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("ticket_id", "position"),)


class InsuranceClaim(UUIDKey, Timestamps, Versioned, Base):
    """A claim with the device's insurer for damage or theft, and how it ended."""

    __tablename__ = "insurance_claim"

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ticket.id"), index=True)
    insurer: Mapped[str] = mapped_column(String(200))
    claim_number: Mapped[str] = mapped_column(String(100))
    status: Mapped[ClaimStatus] = mapped_column(pg_enum(ClaimStatus, "claim_status"))
    outcome: Mapped[str | None] = mapped_column(Text)
    payout_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    filed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = at_column()
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("insurer", "claim_number"),)
