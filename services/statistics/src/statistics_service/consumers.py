"""Events statistics reads: every service's, into the read model (see `service.projection`).

Each payload model is this service's own tolerant copy: it reads the fields it needs, ignores
the rest, and reads as optional the fields older events lack (`school_levels` on a device and
`social_criteria` on a reservation, sent since their producers' first release after 2026-11-25)
or a producer may add later (`version` on a reservation or a contract). Every event of
these topics describes its whole aggregate as it is now, so each becomes one *fact*: the
aggregate's id, its order key and the attributes statistics counts by.

Order keys: a device's snapshot `version`; for the other aggregates their event's `version`
when the producer sends one, else the event's `time`, then its `id` (a stable tie-break).

Ticket events (`ticket.*`) carry the whole ticket but no version: a ticket is done in the states
`resolved` and `closed` (or, without a state, once it has a `resolved_at`), open otherwise; its
time to resolve is `resolved_at` (else `closed_at`) minus `opened_at`. A breach is a fact about
the ticket's history, not its current state: `ticket.sla_breached` (or a `sla_breached: true`,
or a resolution after `due_at`) marks the ticket breached for good, whatever comes after (the
projection ORs the flag over all of the ticket's events). The tickets' device effects
(`repair.*`, `device.*_confirmed`) are not counted here: the inventory's device events carry
their outcome.

Planning's allocation events (`allocation.published`, `adjusted`, `moved`, `order_recorded`)
are not facts of one aggregate: they set schools' numbers in a round, guarded by the round's
`version` (the order recorded by its time), see `service.allocations`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.events import CloudEvent
from shared_kit.events.consumer import ConsumerRunner, Delivery
from shared_kit.settings import ServiceSettings
from statistics_service.config import StatisticsSettings
from statistics_service.facts import (
    AnyFact,
    ContractFact,
    DeviceFact,
    ReservationFact,
    TicketFact,
)
from statistics_service.service import allocations, projection

DEVICE_TYPES = tuple(
    f"lv.datori.inventory.device.{name}.v1"
    for name in ("registered", "updated", "assigned", "status_changed")
)
RESERVATION_TYPES = tuple(
    f"lv.datori.reservations.reservation.{name}.v1"
    for name in (
        "requested",
        "waitlisted",
        "approved",
        "offered",
        "cancelled",
        "rejected",
        "expired",
        "fulfilled",
    )
)
CONTRACT_OVERDUE = "lv.datori.contracts.contract.overdue.v1"
CONTRACT_TYPES = tuple(
    f"lv.datori.contracts.contract.{name}.v1"
    for name in (
        "drafted",
        "signed_by_borrower",
        "activated",
        "returned",
        "terminated",
        "expired",
        "overdue",
        "cancelled",
    )
)
TICKET_PREFIX = "lv.datori.tickets.ticket."
TICKET_SLA_BREACHED = TICKET_PREFIX + "sla_breached.v1"
TICKET_TYPES = tuple(
    f"{TICKET_PREFIX}{name}.v1"
    for name in ("opened", "acknowledged", "resolved", "closed", "reopened", "sla_breached")
)
ALLOCATION_PREFIX = "lv.datori.planning.allocation."
ALLOCATION_PUBLISHED = ALLOCATION_PREFIX + "published.v1"
ALLOCATION_ADJUSTED = ALLOCATION_PREFIX + "adjusted.v1"
ALLOCATION_MOVED = ALLOCATION_PREFIX + "moved.v1"
ALLOCATION_ORDER_RECORDED = ALLOCATION_PREFIX + "order_recorded.v1"
ALLOCATION_TYPES = (
    ALLOCATION_PUBLISHED,
    ALLOCATION_ADJUSTED,
    ALLOCATION_MOVED,
    ALLOCATION_ORDER_RECORDED,
)
HANDLED = (*DEVICE_TYPES, *RESERVATION_TYPES, *CONTRACT_TYPES, *TICKET_TYPES, *ALLOCATION_TYPES)

CLOSED_TICKET_STATES = frozenset(
    {"resolved", "closed", "done", "completed", "cancelled", "rejected"}
)
_GRADES = re.compile(r"([0-9]{1,2})\.?(?:\s*[-\u2013]\s*([0-9]{1,2}))?")  # "1-3", "1.\u20133."
_CRITERION = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


# Payload models (tolerant copies) ----------------------------------------------------------


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DeviceSnapshotIn(_Tolerant):
    """The inventory's device snapshot, the fields statistics counts by."""

    device_id: uuid.UUID
    version: int
    municipality_code: str
    institution_registration_number: str | None = None
    status: str
    os: str = "unknown"
    category: str = "unknown"
    funding_source: str = "unknown"
    warranty_ends_on: dt.date | None = None
    delivery_date: dt.date | None = None
    school_levels: list[str] | None = None  # the catalogue item's (absent from older events)
    order_reference: str | None = None  # absent from older events


class DeviceEventIn(_Tolerant):
    """Any inventory device event."""

    device: DeviceSnapshotIn


class ReservationIn(_Tolerant):
    """Any reservation event."""

    reservation_id: uuid.UUID
    version: int | None = None
    municipality_code: str
    institution_number: str
    state: str
    priority_score: int = 0
    social_criteria: list[str | dict[str, Any]] = Field(default_factory=list)


class ContractIn(_Tolerant):
    """Any contract event."""

    contract_id: uuid.UUID
    version: int | None = None
    reservation_id: uuid.UUID | None = None
    municipality_code: str
    institution_number: str
    state: str


class TicketIn(_Tolerant):
    """Any ticket event (tolerant of the names a tickets service may choose)."""

    ticket_id: uuid.UUID | None = None
    version: int | None = None
    municipality_code: str | None = None
    institution_number: str | None = Field(
        None, validation_alias=AliasChoices("institution_number", "institution_registration_number")
    )
    state: str | None = Field(None, validation_alias=AliasChoices("state", "status"))
    opened_at: dt.datetime | None = Field(
        None, validation_alias=AliasChoices("opened_at", "reported_at", "created_at")
    )
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    sla_breached: bool | None = None
    sla_due_at: dt.datetime | None = Field(
        None, validation_alias=AliasChoices("sla_due_at", "resolve_by", "due_at")
    )


class SchoolAllocationIn(_Tolerant):
    """A school's number in an allocation round."""

    municipality_code: str
    institution_number: str
    allocated: int


class AllocationPublishedIn(_Tolerant):
    """A published allocation round with every school's number."""

    round_id: uuid.UUID
    title: str = ""
    funding_programme: str = ""
    order_reference: str
    devices: int = 0
    state: str = "published"
    version: int
    published_at: dt.datetime | None = None
    lines: list[SchoolAllocationIn] = Field(default_factory=list)


class AllocationChangedIn(_Tolerant):
    """Devices moved between two schools; both schools' numbers after the change."""

    round_id: uuid.UUID
    source: SchoolAllocationIn
    target: SchoolAllocationIn
    version: int


class OrderRecordedIn(_Tolerant):
    """How many devices are ordered for a school under a round."""

    round_id: uuid.UUID
    municipality_code: str
    institution_number: str
    ordered: int
    at: dt.datetime | None = None


def to_allocation_change(evt: CloudEvent) -> allocations.Change | None:
    """The allocation change an event states, or None for other events."""
    if evt.type == ALLOCATION_PUBLISHED:
        p = AllocationPublishedIn.model_validate(evt.data)
        lines = tuple(allocations.Line(**line.model_dump()) for line in p.lines)
        info = p.model_dump(exclude={"lines", "published_at"})
        return allocations.Published(**info, published_at=p.published_at or evt.time, lines=lines)
    if evt.type in (ALLOCATION_ADJUSTED, ALLOCATION_MOVED):
        c = AllocationChangedIn.model_validate(evt.data)
        pair = tuple(allocations.Line(**x.model_dump()) for x in (c.source, c.target))
        return allocations.Changed(round_id=c.round_id, version=c.version, lines=pair)
    if evt.type == ALLOCATION_ORDER_RECORDED:
        o = OrderRecordedIn.model_validate(evt.data)
        return allocations.Ordered(**o.model_dump(exclude={"at"}), at=o.at or evt.time)
    return None


# Event → fact ------------------------------------------------------------------------------


def levels_mask(levels: list[str] | None) -> int:
    """Bit g set for each grade 1-12 the school levels name ("grades 1-3", "5", "1.-4."); 0 when
    none can be read (the device then counts for every grade its institution teaches)."""
    mask = 0
    for level in levels or []:
        for first, last in _GRADES.findall(level):
            low, high = int(first), int(last or first)
            for grade in range(max(low, 1), min(high, 12) + 1):
                mask |= 1 << grade
    return mask


def criteria_of(claims: list[str | dict[str, Any]]) -> list[str]:
    """Criterion names from `["low_income", …]` or `[{"criterion": "low_income", …}, …]`."""
    names = {str(c.get("criterion", "")) if isinstance(c, dict) else str(c) for c in claims}
    return sorted(n.lower() for n in names if _CRITERION.match(n.lower()))


def to_fact(evt: CloudEvent) -> AnyFact | None:
    """The fact an event states, or None when statistics does not count it."""
    if evt.type in DEVICE_TYPES:
        return _device(evt)
    if evt.type in RESERVATION_TYPES:
        return _reservation(evt)
    if evt.type in CONTRACT_TYPES:
        return _contract(evt)
    if evt.type.startswith(TICKET_PREFIX):
        return _ticket(evt)
    return None


def _device(evt: CloudEvent) -> DeviceFact:
    d = DeviceEventIn.model_validate(evt.data).device
    return DeviceFact(
        version=d.version,
        event_time=evt.time,
        event_id=evt.id,
        device_id=d.device_id,
        municipality_code=d.municipality_code,
        institution_number=d.institution_registration_number or "",
        status=d.status,
        os=d.os,
        category=d.category,
        funding_source=d.funding_source,
        warranty_ends_on=d.warranty_ends_on,
        levels_mask=levels_mask(d.school_levels),
        delivered_on=d.delivery_date,
        order_reference=d.order_reference or None,
    )


def _reservation(evt: CloudEvent) -> ReservationFact:
    r = ReservationIn.model_validate(evt.data)
    return ReservationFact(
        version=r.version,
        event_time=evt.time,
        event_id=evt.id,
        reservation_id=r.reservation_id,
        municipality_code=r.municipality_code,
        institution_number=r.institution_number,
        state=r.state,
        priority_score=r.priority_score,
        criteria=tuple(criteria_of(r.social_criteria)),
    )


def _contract(evt: CloudEvent) -> ContractFact:
    c = ContractIn.model_validate(evt.data)
    return ContractFact(
        version=c.version,
        event_time=evt.time,
        event_id=evt.id,
        contract_id=c.contract_id,
        reservation_id=c.reservation_id,
        municipality_code=c.municipality_code,
        institution_number=c.institution_number,
        state=c.state,
        overdue=evt.type == CONTRACT_OVERDUE and c.state == "active",
        criteria=(),
    )


def _ticket(evt: CloudEvent) -> TicketFact | None:
    t = TicketIn.model_validate(evt.data)
    municipality = t.municipality_code or evt.municipality
    if t.ticket_id is None or not municipality:
        return None
    done_at = t.resolved_at or t.closed_at
    by_state = t.state.lower() in CLOSED_TICKET_STATES if t.state is not None else None
    closed = by_state if by_state is not None else done_at is not None
    resolved_at = (done_at or evt.time) if closed else None
    breached = (
        evt.type == TICKET_SLA_BREACHED
        or bool(t.sla_breached)
        or bool(t.sla_due_at and resolved_at and resolved_at > t.sla_due_at)
    )
    seconds = None
    if closed and t.opened_at is not None and resolved_at is not None:
        seconds = max(0, int((resolved_at - t.opened_at).total_seconds()))
    return TicketFact(
        version=t.version,
        event_time=evt.time,
        event_id=evt.id,
        ticket_id=t.ticket_id,
        municipality_code=municipality,
        institution_number=t.institution_number or "",
        is_open=not closed,
        sla_breached=breached,
        resolve_seconds=seconds,
    )


# The consumer ------------------------------------------------------------------------------


async def apply_event(session: AsyncSession, evt: CloudEvent) -> None:
    """Handler of one event (dead-letter retries); `apply_deliveries` is the usual path."""
    fact = to_fact(evt)
    await projection.apply_facts(session, [fact] if fact is not None else [])
    change = to_allocation_change(evt)
    await allocations.apply_changes(session, [change] if change is not None else [])


async def apply_deliveries(session: AsyncSession, deliveries: list[Delivery]) -> None:
    """Batch handler: the events new to the inbox, applied in one projection pass.

    Deduplication is by event id (the kit's inbox) and by each aggregate's order key (the
    projection keeps the latest fact), never by offset: offsets start again from 0 when a
    topic is re-created or the broker loses its topics, and the events then are new ones.
    """
    facts = [f for d in deliveries if (f := to_fact(d.event)) is not None]
    await projection.apply_facts(session, facts)
    changes = [c for d in deliveries if (c := to_allocation_change(d.event)) is not None]
    await allocations.apply_changes(session, changes)


def build_consumers(
    sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings
) -> list[ConsumerRunner]:
    """The service's one consumer group over every producing service's topic."""
    assert isinstance(settings, StatisticsSettings)
    return [
        ConsumerRunner(
            name=settings.consumer_group,
            topics=settings.consumed_topics,
            handlers=dict.fromkeys(HANDLED, apply_event),
            session_factory=sessions,
            settings=settings,
            batch_handler=apply_deliveries,
            max_records=settings.consumer_batch_size,
        )
    ]
