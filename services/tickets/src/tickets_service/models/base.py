"""The tickets' declarative base and vocabulary: categories, severities, states, sources."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import DateTime, Enum, MetaData, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared_kit import tables as kit_tables
from shared_kit.db import NAMING_CONVENTION


class Base(DeclarativeBase):
    """Tickets' own declarative base, with the kit's naming convention.

    The read model reuses the inventory's table name (`device`); on the kit's shared metadata
    the services could not be imported into one process (the test suite, `contracts/build.py`).
    Each service has its own database, so nothing else changes.
    """

    # Every model here maps a Table (SQLAlchemy types `__table__` as any FromClause).
    __table__: ClassVar[Table]
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def migration_metadata() -> MetaData:
    """This service's tables plus the kit's (outbox, inbox, dead letters, idempotency)."""
    return kit_tables.with_kit_tables(Base.metadata)


def pg_enum(cls: type[StrEnum], name: str) -> Enum:
    """A PostgreSQL enum of the StrEnum's values."""
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


def at_column() -> Mapped[dt.datetime | None]:
    """An optional instant."""
    return mapped_column(DateTime(timezone=True))


class Category(StrEnum):
    """What the problem is."""

    DOES_NOT_START = "does_not_start"
    SCREEN = "screen"
    KEYBOARD = "keyboard"
    BATTERY_CHARGER = "battery_charger"
    SOFTWARE = "software"
    DAMAGE = "damage"
    LOST = "lost"
    STOLEN = "stolen"
    ACCESSORY_MISSING = "accessory_missing"
    OTHER = "other"


# Categories that send the device to the workshop (the `repair` flag's default).
REPAIR_CATEGORIES = frozenset(
    {Category.DOES_NOT_START, Category.SCREEN, Category.KEYBOARD, Category.DAMAGE}
)
# Faults a manufacturer's warranty covers (not damage, loss, theft, software or accessories).
WARRANTY_CATEGORIES = frozenset(
    {
        Category.DOES_NOT_START,
        Category.SCREEN,
        Category.KEYBOARD,
        Category.BATTERY_CHARGER,
        Category.OTHER,
    }
)
LOSS_CATEGORIES = frozenset({Category.LOST, Category.STOLEN})
# Insurance covers damage and theft.
INSURANCE_CATEGORIES = frozenset({Category.DAMAGE, Category.STOLEN})


class Severity(StrEnum):
    """How urgent; the SLA targets follow it."""

    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class TicketState(StrEnum):
    """Where a ticket is in its life (see `service/workflow.py` for the transitions).

    `in_progress`: someone works on the problem (the device stays where it is);
    `in_repair`: the technician took the device in, so the inventory marks it `in_repair`.
    """

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    IN_REPAIR = "in_repair"
    WAITING_FOR_PARTS = "waiting_for_parts"
    WAITING_FOR_REPORTER = "waiting_for_reporter"
    RESOLVED = "resolved"
    CLOSED = "closed"


DONE_STATES = (TicketState.RESOLVED, TicketState.CLOSED)
OPEN_STATES = tuple(s for s in TicketState if s not in DONE_STATES)


class ContactPreference(StrEnum):
    """How the reporter wants to hear back (the contact details live with the gateway)."""

    APP = "app"
    EMAIL = "email"
    PHONE = "phone"
    SCHOOL = "school"


class ReporterKind(StrEnum):
    """In which capacity the ticket was reported."""

    GUARDIAN = "guardian"
    LEARNER = "learner"
    SCHOOL_STAFF = "school_staff"
    SUPPORT = "support"  # technicians, municipal and platform administrators, machine clients
    INSTITUTION = "institution"  # opened automatically for an institution (a damaged return)


class TicketSource(StrEnum):
    """Where the ticket came from."""

    API = "api"
    CONTRACT_RETURN = "contract_return"


class Visibility(StrEnum):
    """Who sees a comment: everyone who sees the ticket, or support staff only."""

    PUBLIC = "public"
    INTERNAL = "internal"


class ClaimStatus(StrEnum):
    """Where an insurance claim is."""

    FILED = "filed"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"
    WITHDRAWN = "withdrawn"
