"""Notifications tables: who is reached how, what each person was told, and its deliveries.

- `recipient`: a person (the opaque id tokens and events carry) and their language.
- `contact_point`: a person's e-mail address or mobile number, stored encrypted, usable only
  once verified by a one-time code (kept as a keyed hash with its expiry and attempts).
- `preference`: per person and kind, whether it is on and the channels it travels by.
- `notice`: what a person was told, shown in the portal; unique per (cause, person), the cause
  being an event id or a reminder's due slot, so a replay or a second replica adds nothing.
- `delivery`: a notice's trip through one channel; unique per (notice, channel), and this
  service's own outbox: claimed with a lease, retried with back-off, then sent or failed.
- `reminder`: a message planned for later (a deadline's eve, a return due), re-planned when
  its dates change and cancelled when its reason goes away.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from notifications_service.kinds import Channel
from shared_kit import tables as kit_tables
from shared_kit.db import NAMING_CONVENTION, Timestamps, UUIDKey


class Base(DeclarativeBase):
    """Notifications' own declarative base, with the kit's naming convention."""

    # Every model here maps a Table (SQLAlchemy types `__table__` as any FromClause).
    __table__: ClassVar[Table]
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def migration_metadata() -> MetaData:
    """This service's tables plus the kit's (outbox, inbox, dead letters, idempotency)."""
    return kit_tables.with_kit_tables(Base.metadata)


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


def _at(**kwargs: Any) -> Mapped[dt.datetime | None]:
    return mapped_column(DateTime(timezone=True), **kwargs)


def _created() -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


PERSON = String(200)


class DeliveryState(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"  # waiting for `next_attempt_at` (a retry, quiet hours)
    SENDING = "sending"  # claimed by a dispatcher until `lease_until`
    SENT = "sent"
    FAILED = "failed"  # attempts used up, or refused for good (a bad address)
    CANCELLED = "cancelled"  # no longer to be sent (no verified contact point, turned off)


class ReminderState(StrEnum):
    """Where a planned message stands."""

    PLANNED = "planned"
    DONE = "done"  # its notice was made
    CANCELLED = "cancelled"  # its reason went away or its date moved


class Recipient(Timestamps, Base):
    """A person this service may tell something, with the language they chose."""

    __tablename__ = "recipient"

    person_id: Mapped[str] = mapped_column(PERSON, primary_key=True)
    language: Mapped[str] = mapped_column(String(2), server_default="lv")
    # Verification codes sent to this person's addresses in the current hour (any channel,
    # kept when a contact point is removed): a person cannot make us send codes without end.
    codes_window_start: Mapped[dt.datetime | None] = _at()
    codes_in_window: Mapped[int] = mapped_column(Integer, server_default="0")


class ContactPoint(UUIDKey, Timestamps, Base):
    """A person's e-mail address or mobile number (one of each), encrypted at rest."""

    __tablename__ = "contact_point"
    __table_args__ = (UniqueConstraint("person_id", "channel"),)

    person_id: Mapped[str] = mapped_column(PERSON)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    address_encrypted: Mapped[str] = mapped_column(Text)
    verified_at: Mapped[dt.datetime | None] = _at()
    # The pending one-time code: a keyed hash, its expiry and the wrong guesses so far.
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_sent_at: Mapped[dt.datetime | None] = _at()
    code_expires_at: Mapped[dt.datetime | None] = _at()
    code_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[dt.datetime | None] = _at()
    # A permanent refusal by the provider (a bad address): no more sending until changed.
    rejected_at: Mapped[dt.datetime | None] = _at()
    rejected_reason: Mapped[str | None] = mapped_column(String(200))


class Preference(Timestamps, Base):
    """A person's choice for one kind: on or off, and by which channels."""

    __tablename__ = "preference"

    person_id: Mapped[str] = mapped_column(PERSON, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60), primary_key=True)
    enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    channels: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))


class Notice(UUIDKey, Base):
    """What a person was told: shown in the portal, and the source of its deliveries."""

    __tablename__ = "notice"
    __table_args__ = (
        UniqueConstraint("cause", "person_id"),
        Index("ix_notice_person_created", "person_id", "created_at"),
        Index("ix_notice_person_unread", "person_id", postgresql_where=text("read_at IS NULL")),
    )

    person_id: Mapped[str] = mapped_column(PERSON)
    kind: Mapped[str] = mapped_column(String(60))
    # The event id, or a reminder's slot ("return_due_soon:<contract>:<date>").
    cause: Mapped[str] = mapped_column(String(200))
    # What the message needs to be written (numbers, dates, the portal path); no personal code.
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = _created()
    read_at: Mapped[dt.datetime | None] = _at()


class Delivery(UUIDKey, Timestamps, Base):
    """One notice through one channel: this service's outbox row."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("notice_id", "channel"),
        Index(
            "ix_delivery_due",
            "next_attempt_at",
            postgresql_where=text("state IN ('pending', 'sending')"),
        ),
        Index("ix_delivery_failed", "updated_at", postgresql_where=text("state = 'failed'")),
        # A refused or deleted contact point cancels the person's waiting deliveries by it.
        Index(
            "ix_delivery_person_waiting",
            "person_id",
            "channel",
            postgresql_where=text("state IN ('pending', 'sending')"),
        ),
    )

    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(PERSON)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState, "delivery_state"), server_default=DeliveryState.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    lease_until: Mapped[dt.datetime | None] = _at()
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[dt.datetime | None] = _at()


class Reminder(UUIDKey, Timestamps, Base):
    """A message planned for a moment: made into a notice when it falls due."""

    __tablename__ = "reminder"
    __table_args__ = (
        Index("ix_reminder_due", "due_at", postgresql_where=text("state = 'planned'")),
        Index("ix_reminder_subject", "subject_id"),
    )

    # The slot: kind, subject and the date it is for; its notice's cause.
    cause: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[str] = mapped_column(String(100))  # the contract, reservation, ticket
    person_id: Mapped[str] = mapped_column(PERSON)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    link: Mapped[str | None] = mapped_column(String(500))
    state: Mapped[ReminderState] = mapped_column(
        _enum(ReminderState, "reminder_state"), server_default=ReminderState.PLANNED.value
    )


# What the rules remember of other services' events (their own tolerant read models) ----------


class TrackedReservation(Base):
    """A reservation as its events told it: who asked, its school, state and pickup deadline."""

    __tablename__ = "tracked_reservation"
    __table_args__ = (
        Index(
            "ix_tracked_reservation_waiting",
            "institution_number",
            postgresql_where=text("state = 'requested'"),
        ),
    )

    reservation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(PERSON)
    municipality_code: Mapped[str] = mapped_column(String(20))
    institution_number: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(30))
    loaner: Mapped[bool] = mapped_column(server_default=text("false"))
    pickup_deadline: Mapped[dt.datetime | None] = _at()
    updated_at: Mapped[dt.datetime] = _created()


class TrackedContract(Base):
    """A loan contract as its events told it: enough to re-plan its reminders."""

    __tablename__ = "tracked_contract"

    contract_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reservation_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    person_id: Mapped[str] = mapped_column(PERSON)
    number: Mapped[str] = mapped_column(String(60))
    institution_number: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(30))
    updated_at: Mapped[dt.datetime] = _created()


class StaffMember(Base):
    """A person's whole current staff role set, from the gateway's `roles_changed` events."""

    __tablename__ = "staff_member"
    __table_args__ = (Index("ix_staff_member_roles", "roles", postgresql_using="gin"),)

    person_id: Mapped[str] = mapped_column(PERSON, primary_key=True)
    # [{"role": ..., "municipality_code": ..., "institution_number": ...}]
    roles: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class DigestRun(Base):
    """A daily digest made for one local day: whoever inserts the row makes it, once."""

    __tablename__ = "digest_run"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    made_at: Mapped[dt.datetime] = _created()
