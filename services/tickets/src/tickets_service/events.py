"""Events tickets publish, as versioned payload models (JSON Schemas come from these).

Ticket events (`ticket.*`) carry the ticket as consumers need it, keyed by the ticket id.
They name people only by opaque platform ids (the learner, the reporting person, the
assignee), never by personal code, and carry no free text (descriptions and comments may hold
personal details). `reporter_id` is the reporter's subject when a person reported the ticket,
null for a machine client or an institution (a damaged return). `response_due_at` and
`resolution_due_at` are the SLA clocks' deadlines while they run, null while a clock is
stopped (responded, resolved) or paused (waiting for the reporter). `ticket.assigned` is
published when the assignee changes (`assignee_id` null: unassigned). `ticket.commented` is
published for a public comment only (never an internal one), without its text: the person
reads it where they see the ticket; `author_id` is the commenting person (null for a machine
client), `by_staff` whether they wrote as support or school staff.

Device effects are keyed by the **device id**, so that one device's effects stay in order
across tickets:
- `repair.started`: the technician took the device in (the ticket entered `in_repair`, or a
  damaged return opened it; the inventory marks the device `in_repair`). Reporting a problem
  or working on it (`in_progress`) publishes no effect;
- `repair.completed`: it is back (the inventory returns it to where it was: on loan, or
  available / reserved);
- `device.lost_confirmed` / `device.stolen_confirmed`: staff confirmed the loss (the inventory
  marks the device, the contracts service records it on the active loan, `contract_id`).

`loaner.requested` (keyed by the ticket id) asks the reservations service for a replacement
device for the learner at the top of the institution's waitlist; `borrower_id` is the
guardian of the broken device's loan, who borrows the replacement too.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.events import CloudEvent, add_event
from shared_kit.observability import correlation_id
from tickets_service.models import Comment, NewTicket, Ticket

SOURCE = "/datori/tickets"
PREFIX = "lv.datori.tickets."

OPENED = PREFIX + "ticket.opened.v1"
ACKNOWLEDGED = PREFIX + "ticket.acknowledged.v1"
RESOLVED = PREFIX + "ticket.resolved.v1"
CLOSED = PREFIX + "ticket.closed.v1"
REOPENED = PREFIX + "ticket.reopened.v1"
SLA_BREACHED = PREFIX + "ticket.sla_breached.v1"
ASSIGNED = PREFIX + "ticket.assigned.v1"
COMMENTED = PREFIX + "ticket.commented.v1"
REPAIR_STARTED = PREFIX + "repair.started.v1"
REPAIR_COMPLETED = PREFIX + "repair.completed.v1"
LOST_CONFIRMED = PREFIX + "device.lost_confirmed.v1"
STOLEN_CONFIRMED = PREFIX + "device.stolen_confirmed.v1"
LOANER_REQUESTED = PREFIX + "loaner.requested.v1"


class TicketPayload(BaseModel):
    """The ticket as consumers need it."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: uuid.UUID
    number: int
    device_id: uuid.UUID
    municipality_code: str
    institution_number: str | None
    category: str
    severity: str
    state: str
    source: str
    reporter_kind: str
    reporter_id: str | None
    learner_id: str | None
    contract_id: uuid.UUID | None
    repair: bool
    warranty_claim: bool
    assignee_id: str | None
    opened_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None


class TicketOpened(TicketPayload):
    """A problem was reported (or opened from a damaged return)."""


class TicketAcknowledged(TicketPayload):
    """Support staff acknowledged a new ticket."""


class TicketResolved(TicketPayload):
    """The problem is solved (the reporter may still reopen the ticket)."""


class TicketClosed(TicketPayload):
    """The ticket is closed."""


class TicketReopened(TicketPayload):
    """A resolved or closed ticket was reopened."""


class TicketAssigned(TicketPayload):
    """The ticket's assignee changed (`assignee_id` null: nobody works it now)."""


class TicketSlaBreached(TicketPayload):
    """An SLA clock exceeded its target (published once per clock and ticket)."""

    clock: Literal["response", "resolution"]
    target_minutes: int
    due_at: dt.datetime
    detected_at: dt.datetime


class TicketCommented(BaseModel):
    """Someone commented publicly on a ticket (the text stays in the tickets service)."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: uuid.UUID
    number: int
    municipality_code: str
    institution_number: str | None
    comment_id: uuid.UUID
    author_id: str | None
    by_staff: bool
    reporter_id: str | None
    commented_at: dt.datetime


class DeviceEffect(BaseModel):
    """A ticket's effect on a device."""

    model_config = ConfigDict(extra="forbid")

    device_id: uuid.UUID
    ticket_id: uuid.UUID
    municipality_code: str
    institution_number: str | None


class RepairStarted(DeviceEffect):
    """The technician took the device in for repair (not sent when a problem is reported)."""

    started_at: dt.datetime
    warranty_claim: bool


class RepairCompleted(DeviceEffect):
    """The repair is done: the device goes back to where it was."""

    completed_at: dt.datetime


class DeviceLostConfirmed(DeviceEffect):
    """Staff confirmed the device lost."""

    confirmed_at: dt.datetime
    contract_id: uuid.UUID | None


class DeviceStolenConfirmed(DeviceEffect):
    """Staff confirmed the device stolen."""

    confirmed_at: dt.datetime
    contract_id: uuid.UUID | None
    police_report_number: str | None


class LoanerRequested(BaseModel):
    """Staff asked for a replacement device for the learner while theirs is away."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: uuid.UUID
    device_id: uuid.UUID
    municipality_code: str
    institution_number: str
    learner_id: str
    borrower_id: str | None
    requested_by: str
    requested_at: dt.datetime
    category: str | None
    os: str | None


TICKET_PAYLOADS: dict[str, type[TicketPayload]] = {
    OPENED: TicketOpened,
    ACKNOWLEDGED: TicketAcknowledged,
    RESOLVED: TicketResolved,
    CLOSED: TicketClosed,
    REOPENED: TicketReopened,
    SLA_BREACHED: TicketSlaBreached,
    ASSIGNED: TicketAssigned,
}
EFFECT_PAYLOADS: dict[str, type[DeviceEffect]] = {
    REPAIR_STARTED: RepairStarted,
    REPAIR_COMPLETED: RepairCompleted,
    LOST_CONFIRMED: DeviceLostConfirmed,
    STOLEN_CONFIRMED: DeviceStolenConfirmed,
}
PAYLOADS: dict[str, type[BaseModel]] = {
    **TICKET_PAYLOADS,
    **EFFECT_PAYLOADS,
    COMMENTED: TicketCommented,
    LOANER_REQUESTED: LoanerRequested,
}


def _event(type_: str, subject: Any, municipality: str, data: BaseModel) -> CloudEvent:
    return CloudEvent(
        type=type_,
        source=SOURCE,
        subject=str(subject),
        data=data.model_dump(mode="json"),
        municipality=municipality,
        correlationid=correlation_id.get(),
    )


def person_reporter(ticket: Ticket | NewTicket) -> str | None:
    """The reporting person's subject; None for a machine client or an institution."""
    return ticket.reporter_id if ticket.reporter_is_person else None


def ticket_event(type_: str, ticket: Ticket | NewTicket, **fields: Any) -> CloudEvent:
    """A CloudEvent describing the ticket as it is now."""
    payload = TICKET_PAYLOADS[type_](
        ticket_id=ticket.id,
        number=ticket.number,
        device_id=ticket.device_id,
        municipality_code=ticket.municipality_code,
        institution_number=ticket.institution_number,
        category=ticket.category.value,
        severity=ticket.severity.value,
        state=ticket.state.value,
        source=ticket.source.value,
        reporter_kind=ticket.reporter_kind.value,
        reporter_id=person_reporter(ticket),
        learner_id=ticket.learner_id,
        contract_id=ticket.contract_id,
        repair=ticket.repair,
        warranty_claim=ticket.warranty_claim,
        assignee_id=ticket.assignee_id,
        opened_at=ticket.opened_at,
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        # The response clock stops at the first response; the column keeps its deadline.
        response_due_at=ticket.response_due_at if ticket.first_response_at is None else None,
        resolution_due_at=ticket.resolution_due_at,
        **fields,
    )
    return _event(type_, ticket.id, ticket.municipality_code, payload)


def effect_event(type_: str, ticket: Ticket, **fields: Any) -> CloudEvent:
    """A device effect of the ticket, keyed by the device."""
    payload = EFFECT_PAYLOADS[type_](
        device_id=ticket.device_id,
        ticket_id=ticket.id,
        municipality_code=ticket.municipality_code,
        institution_number=ticket.institution_number,
        **fields,
    )
    return _event(type_, ticket.device_id, ticket.municipality_code, payload)


def publish(session: AsyncSession, type_: str, ticket: Ticket, **fields: Any) -> None:
    """Queue a ticket event in the outbox of the caller's transaction."""
    add_event(session, ticket_event(type_, ticket, **fields))


def publish_effect(session: AsyncSession, type_: str, ticket: Ticket, **fields: Any) -> None:
    """Queue a device effect in the outbox of the caller's transaction."""
    add_event(session, effect_event(type_, ticket, **fields))


def publish_comment(
    session: AsyncSession, ticket: Ticket, comment: Comment, author_id: str | None
) -> None:
    """Queue a public comment's event, keyed by the ticket, in the caller's transaction."""
    payload = TicketCommented(
        ticket_id=ticket.id,
        number=ticket.number,
        municipality_code=ticket.municipality_code,
        institution_number=ticket.institution_number,
        comment_id=comment.id,
        author_id=author_id,
        by_staff=comment.author_is_staff,
        reporter_id=person_reporter(ticket),
        commented_at=comment.created_at,
    )
    add_event(session, _event(COMMENTED, ticket.id, ticket.municipality_code, payload))


def publish_loaner(session: AsyncSession, payload: LoanerRequested) -> None:
    """Queue a loaner request in the outbox of the caller's transaction."""
    add_event(
        session, _event(LOANER_REQUESTED, payload.ticket_id, payload.municipality_code, payload)
    )
