"""Facts: an aggregate as one event describes it, in the shape of its state table's row.

Each fact carries its order key (`version`, `event_time`, `event_id`); the projection keeps, per
aggregate, the fact with the greatest key.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Fact:
    """An aggregate as one event describes it; fields are the state table's columns."""

    version: int | None
    event_time: dt.datetime
    event_id: str

    @property
    def order(self) -> tuple[int, dt.datetime, str]:
        """The order key: later events of an aggregate have greater keys."""
        return (-1 if self.version is None else self.version, self.event_time, self.event_id)


@dataclass(frozen=True, slots=True)
class DeviceFact(Fact):
    """A device snapshot."""

    device_id: uuid.UUID
    municipality_code: str
    institution_number: str
    status: str
    os: str
    category: str
    funding_source: str
    warranty_ends_on: dt.date | None
    levels_mask: int
    delivered_on: dt.date | None = None  # the inventory's delivery date, when it has one
    order_reference: str | None = None  # the procurement it was delivered under, when known


@dataclass(frozen=True, slots=True)
class ReservationFact(Fact):
    """A reservation."""

    reservation_id: uuid.UUID
    municipality_code: str
    institution_number: str
    state: str
    priority_score: int
    criteria: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ContractFact(Fact):
    """A loan contract; `criteria` are filled from its reservation when it is applied."""

    contract_id: uuid.UUID
    reservation_id: uuid.UUID | None
    municipality_code: str
    institution_number: str
    state: str
    overdue: bool
    criteria: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TicketFact(Fact):
    """A ticket."""

    ticket_id: uuid.UUID
    municipality_code: str
    institution_number: str
    is_open: bool
    sla_breached: bool
    resolve_seconds: int | None


@dataclass(frozen=True, slots=True)
class Transition:
    """One version of a device as far as its use goes: its status from `at` on."""

    device_id: uuid.UUID
    version: int
    at: dt.datetime
    status: str


AnyFact = DeviceFact | ReservationFact | ContractFact | TicketFact
