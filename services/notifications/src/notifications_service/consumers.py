"""Events notifications read: reservations, contracts, tickets and identity.

Each payload model is this service's own tolerant copy: it reads the fields it needs and
ignores the rest; an event without the fields a rule needs (an older producer) tells nobody
anything. Every handler runs once per event (the kit's inbox), and what it makes is unique
per (cause, person), so a replay through another route adds nothing either. The cause of an
event's notice is the event id.

The records of one poll (up to `BATCH_RECORDS`) are applied in one transaction, each event by
its own handler in the order read, with their inbox rows: one commit per poll rather than
per event. A batch that fails is applied again one event at a time (the kit's runner), so a
poison event is dead-lettered alone.
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications_service.config import NotificationsSettings
from notifications_service.service import families, roster, support
from shared_kit.clock import Clock, system_clock
from shared_kit.events import CloudEvent
from shared_kit.events.consumer import BatchHandler, ConsumerRunner, Delivery, Handler
from shared_kit.observability import correlation_id
from shared_kit.settings import ServiceSettings

RESERVATION = "lv.datori.reservations.reservation."
CONTRACT = "lv.datori.contracts.contract."
TICKET = "lv.datori.tickets.ticket."
RESERVATION_CHANGES = (
    "requested",
    "waitlisted",
    "approved",
    "offered",
    "cancelled",
    "rejected",
    "expired",
    "fulfilled",
)
CONTRACT_CHANGES = (
    "drafted",
    "signed_by_borrower",
    "activated",
    "returned",
    "terminated",
    "expired",
    "overdue",
    "cancelled",
)
TICKET_CHANGES = (
    "opened",
    "acknowledged",
    "assigned",
    "resolved",
    "closed",
    "reopened",
    "sla_breached",
)
TICKET_COMMENTED = TICKET + "commented.v1"
ROLES_CHANGED = "lv.datori.identity.person.roles_changed.v1"
# Records applied in one transaction: a burst costs a commit per batch, and the dispatcher
# still sees the first deliveries after a fraction of a second.
BATCH_RECORDS = 100


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ReservationIn(_Tolerant):
    """A reservation event, the fields the rules read."""

    reservation_id: uuid.UUID | None = None
    requested_by: str | None = None
    municipality_code: str | None = None
    institution_number: str | None = None
    state: str = ""
    priority_score: int = 0
    period_start: dt.datetime | None = None
    period_end: dt.datetime | None = None
    pickup_deadline: dt.datetime | None = None


class ContractIn(_Tolerant):
    """A contract event, the fields the rules read."""

    contract_id: uuid.UUID | None = None
    reservation_id: uuid.UUID | None = None
    number: str = ""
    borrower_id: str | None = None
    institution_number: str = ""
    state: str = ""
    period_end: dt.datetime | None = None
    sign_by: dt.datetime | None = None
    lender_complete: bool = True
    overdue_since: dt.datetime | None = None


class TicketIn(_Tolerant):
    """A ticket event (or a public comment), the fields the rules read."""

    ticket_id: uuid.UUID | None = None
    number: int | None = None
    municipality_code: str | None = None
    institution_number: str | None = None
    state: str = ""
    assignee_id: str | None = None
    reporter_id: str | None = None
    first_response_at: dt.datetime | None = None
    response_due_at: dt.datetime | None = None
    resolution_due_at: dt.datetime | None = None
    # `sla_breached`
    clock: str | None = None
    due_at: dt.datetime | None = None
    # `commented`
    author_id: str | None = None


class RoleIn(_Tolerant):
    """One staff role and where it holds."""

    role: str
    municipality_code: str | None = None
    institution_number: str | None = None


class RolesChangedIn(_Tolerant):
    """A person's whole current staff role set."""

    person_id: str | None = None
    roles: list[RoleIn] = Field(default_factory=list)
    changed_at: dt.datetime | None = None


def _change(evt: CloudEvent, prefix: str) -> str:
    return evt.type.removeprefix(prefix).removesuffix(".v1")


async def reservation_event(
    session: AsyncSession, evt: CloudEvent, *, clock: Clock, timezone: str
) -> None:
    """A reservation changed: keep it, tell the family."""
    p = ReservationIn.model_validate(evt.data)
    if not (p.reservation_id and p.requested_by and p.institution_number):
        return
    facts = families.ReservationFacts(
        reservation_id=p.reservation_id,
        person_id=p.requested_by,
        municipality_code=p.municipality_code or evt.municipality or "",
        institution_number=p.institution_number,
        state=p.state,
        priority_score=p.priority_score,
        period_start=p.period_start,
        period_end=p.period_end,
        pickup_deadline=p.pickup_deadline,
    )
    change = _change(evt, RESERVATION)
    await families.reservation_changed(
        session, change, facts, cause=evt.id, now=clock(), timezone=timezone
    )


async def contract_event(
    session: AsyncSession, evt: CloudEvent, *, clock: Clock, timezone: str
) -> None:
    """A contract changed: keep it, tell the borrower, re-plan its reminders."""
    p = ContractIn.model_validate(evt.data)
    if not (p.contract_id and p.borrower_id):
        return
    facts = families.ContractFacts(
        contract_id=p.contract_id,
        reservation_id=p.reservation_id,
        number=p.number,
        person_id=p.borrower_id,
        institution_number=p.institution_number,
        state=p.state,
        period_end=p.period_end,
        sign_by=p.sign_by,
        lender_complete=p.lender_complete,
        overdue_since=p.overdue_since,
    )
    change = _change(evt, CONTRACT)
    await families.contract_changed(
        session, change, facts, cause=evt.id, now=clock(), timezone=timezone
    )


def _ticket(p: TicketIn) -> support.TicketFacts | None:
    if p.ticket_id is None or p.number is None or not p.municipality_code:
        return None
    return support.TicketFacts(
        ticket_id=p.ticket_id,
        number=p.number,
        municipality_code=p.municipality_code,
        institution_number=p.institution_number,
        state=p.state,
        assignee_id=p.assignee_id,
        reporter_id=p.reporter_id,
        first_response_at=p.first_response_at,
        response_due_at=p.response_due_at,
        resolution_due_at=p.resolution_due_at,
    )


async def ticket_event(session: AsyncSession, evt: CloudEvent, *, clock: Clock) -> None:
    """A ticket changed: tell the reporter or the technicians, re-plan the SLA reminders."""
    p = TicketIn.model_validate(evt.data)
    facts = _ticket(p)
    if facts is None:
        return
    breach: dict[str, Any] = {}
    if p.clock and p.due_at:
        breach = {"clock": p.clock, "due_at": p.due_at.astimezone(dt.UTC).isoformat()}
    change = _change(evt, TICKET)
    await support.ticket_changed(session, change, facts, cause=evt.id, now=clock(), breach=breach)


async def ticket_commented(session: AsyncSession, evt: CloudEvent, *, clock: Clock) -> None:
    """A public comment on a ticket."""
    p = TicketIn.model_validate(evt.data)
    facts = _ticket(p)
    if facts is None:
        return
    await support.ticket_commented(session, facts, author_id=p.author_id, cause=evt.id, now=clock())


async def roles_changed(session: AsyncSession, evt: CloudEvent) -> None:
    """A person's staff roles changed: keep the new set."""
    p = RolesChangedIn.model_validate(evt.data)
    if not p.person_id:
        return
    roles = [r.model_dump(exclude_none=True) for r in p.roles]
    await roster.roles_changed(session, p.person_id, roles, p.changed_at or evt.time)


def build_handlers(
    clock: Clock = system_clock, timezone: str = "Europe/Riga"
) -> dict[str, Handler]:
    """Event type → handler; `clock` is the service's (tests move it)."""
    on_reservation = partial(reservation_event, clock=clock, timezone=timezone)
    on_contract = partial(contract_event, clock=clock, timezone=timezone)
    handlers: dict[str, Handler] = {
        **{f"{RESERVATION}{c}.v1": on_reservation for c in RESERVATION_CHANGES},
        **{f"{CONTRACT}{c}.v1": on_contract for c in CONTRACT_CHANGES},
        **{f"{TICKET}{c}.v1": partial(ticket_event, clock=clock) for c in TICKET_CHANGES},
    }
    handlers[TICKET_COMMENTED] = partial(ticket_commented, clock=clock)
    handlers[ROLES_CHANGED] = roles_changed
    return handlers


def in_order(handlers: dict[str, Handler]) -> BatchHandler:
    """Apply a poll's events in the caller's transaction, each by its type's handler."""

    async def apply(session: AsyncSession, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            evt = delivery.event
            token = correlation_id.set(evt.correlationid or evt.id)
            try:
                await handlers[evt.type](session, evt)
            finally:
                correlation_id.reset(token)

    return apply


def build_consumers(
    sessions: async_sessionmaker[AsyncSession],
    settings: ServiceSettings,
    clock: Clock = system_clock,
) -> list[ConsumerRunner]:
    """The service's one consumer group over the topics it reads."""
    assert isinstance(settings, NotificationsSettings)
    handlers = build_handlers(clock, settings.timezone)
    return [
        ConsumerRunner(
            name=settings.consumer_group,
            topics=[
                settings.reservations_topic,
                settings.contracts_topic,
                settings.tickets_topic,
                settings.identity_topic,
            ],
            handlers=handlers,
            session_factory=sessions,
            settings=settings,
            batch_handler=in_order(handlers),
            max_records=BATCH_RECORDS,
        )
    ]
