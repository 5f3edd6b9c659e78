"""Working a ticket: the state machine, assignment, loss confirmation and loaners.

States: `new` → `acknowledged` → `in_progress` (someone works on the problem) → `in_repair`
(the technician took the device in) → `waiting_for_parts` / `waiting_for_reporter` →
`resolved` → `closed`, and reopen (`resolved` or `closed` → `acknowledged`, `in_progress` or
`in_repair`). Support may also answer straight from `new` (ask the reporter, start work, take
the device in, resolve a duplicate). Anything else is a 409 `illegal-transition`. A reporter
may make three moves of their own: answer a question (`waiting_for_reporter` →
`acknowledged`), close a resolved ticket, and reopen a resolved one (→ `acknowledged`). A
reporter's public comment on a ticket waiting for them answers it too (see `discussion`).

Only `in_repair` sends the device to the workshop: a ticket resolved without it (no fault
found, a duplicate, solved over the phone) never changes the device's status.

Every move goes through `move`, under the ticket's row lock: it stops, pauses, resumes or
restarts the SLA clocks (`sla`), starts or completes a repair (`effects`), records the
transition, and publishes the ticket's events (and a breach found when a clock stops late).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match
from shared_kit.tenancy import actor_of
from tickets_service import events
from tickets_service.exceptions import (
    ActionForbidden,
    IllegalTransition,
    NotApplicable,
    TicketNotFound,
)
from tickets_service.models import (
    DONE_STATES,
    LOSS_CATEGORIES,
    Ticket,
    TicketState,
    Transition,
)
from tickets_service.repository import TicketRepository
from tickets_service.schemas import TransitionBody
from tickets_service.service import access, effects, policies, sla

S = TicketState
TRANSITIONS: dict[TicketState, frozenset[TicketState]] = {
    S.NEW: frozenset(
        {S.ACKNOWLEDGED, S.IN_PROGRESS, S.IN_REPAIR, S.WAITING_FOR_REPORTER, S.RESOLVED}
    ),
    S.ACKNOWLEDGED: frozenset(
        {S.IN_PROGRESS, S.IN_REPAIR, S.WAITING_FOR_PARTS, S.WAITING_FOR_REPORTER, S.RESOLVED}
    ),
    S.IN_PROGRESS: frozenset(
        {S.IN_REPAIR, S.WAITING_FOR_PARTS, S.WAITING_FOR_REPORTER, S.RESOLVED}
    ),
    S.IN_REPAIR: frozenset({S.WAITING_FOR_PARTS, S.WAITING_FOR_REPORTER, S.RESOLVED}),
    S.WAITING_FOR_PARTS: frozenset({S.IN_PROGRESS, S.IN_REPAIR, S.RESOLVED}),
    S.WAITING_FOR_REPORTER: frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS, S.IN_REPAIR, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.IN_REPAIR}),
    S.CLOSED: frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS, S.IN_REPAIR}),
}
REPORTER_MOVES = frozenset(
    {
        (S.WAITING_FOR_REPORTER, S.ACKNOWLEDGED),
        (S.RESOLVED, S.CLOSED),
        (S.RESOLVED, S.ACKNOWLEDGED),
    }
)


def ensure_transition(ticket: Ticket, to: TicketState) -> None:
    """409 unless the state machine allows the move."""
    if to not in TRANSITIONS[ticket.state]:
        raise IllegalTransition(
            f"A ticket cannot go from {ticket.state.value} to {to.value}",
            current_state=ticket.state.value,
            allowed=sorted(s.value for s in TRANSITIONS[ticket.state]),
        )


# Moves --------------------------------------------------------------------------------------------


async def lock(session: AsyncSession, ticket: Ticket) -> Ticket:
    """The ticket re-read under a row lock (changes to one ticket happen one at a time)."""
    locked = await TicketRepository(session).get(ticket.id, for_update=True)
    if locked is None:
        raise TicketNotFound(f"No ticket with id {ticket.id}")
    return locked


async def move(
    session: AsyncSession,
    ticket: Ticket,
    to: TicketState,
    *,
    actor: str,
    support: bool,
    now: dt.datetime,
    note: str | None = None,
    resolution: str | None = None,
) -> None:
    """Apply a legal move with its effects on the clocks, the device and the events."""
    ensure_transition(ticket, to)
    before = ticket.state
    breaches: list[sla.ClockName] = []
    if support and before is S.NEW and sla.respond(ticket, now):
        breaches.append(sla.ClockName.RESPONSE)
    if before is S.WAITING_FOR_REPORTER:
        sla.resume(ticket, now)
    reopened = before in DONE_STATES and to not in DONE_STATES
    if reopened:
        sla.restart(ticket, now)
        ticket.closed_at = None
        ticket.resolution = None
    if to is S.WAITING_FOR_REPORTER:
        sla.pause(ticket, now)
    elif to is S.IN_REPAIR:
        effects.start_repair(session, ticket, now)
    elif to is S.RESOLVED:
        if sla.stop(ticket, now):
            breaches.append(sla.ClockName.RESOLUTION)
        ticket.resolution = resolution
        effects.complete_repair(session, ticket, now)
    elif to is S.CLOSED:
        ticket.closed_at = now
    ticket.state = to
    TicketRepository(session).add_transition(
        Transition(
            ticket_id=ticket.id, from_state=before, to_state=to, actor=actor, note=note, at=now
        )
    )
    await session.flush()
    _publish_move(session, ticket, before, to, breaches, now)


def _publish_move(
    session: AsyncSession,
    ticket: Ticket,
    before: TicketState,
    to: TicketState,
    breaches: list[sla.ClockName],
    now: dt.datetime,
) -> None:
    if before in DONE_STATES and to not in DONE_STATES:
        events.publish(session, events.REOPENED, ticket)
    elif to is S.ACKNOWLEDGED and before is S.NEW:
        events.publish(session, events.ACKNOWLEDGED, ticket)
    elif to is S.RESOLVED:
        events.publish(session, events.RESOLVED, ticket)
    elif to is S.CLOSED:
        events.publish(session, events.CLOSED, ticket)
    for clock in breaches:
        publish_breach(session, ticket, clock, now)


def publish_breach(
    session: AsyncSession, ticket: Ticket, clock: sla.ClockName, now: dt.datetime
) -> None:
    """One `ticket.sla_breached` event for a clock just flagged."""
    response = clock is sla.ClockName.RESPONSE
    due = ticket.response_breached_at if response else ticket.resolution_breached_at
    assert due is not None
    events.publish(
        session,
        events.SLA_BREACHED,
        ticket,
        clock=clock.value,
        target_minutes=(
            ticket.response_target_minutes if response else ticket.resolution_target_minutes
        ),
        due_at=due,
        detected_at=now,
    )


async def transition(
    *,
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    body: TransitionBody,
    if_match: str | None,
    now: dt.datetime,
) -> Ticket:
    """Move a ticket: support any legal move (and re-triage); reporters their own moves."""
    ticket = await lock(session, ticket)
    check_if_match(if_match, ticket.version)
    support = access.is_support(principal, ticket)
    if not support:
        _ensure_reporter_move(principal, ticket, body)
    ensure_transition(ticket, body.to)
    if body.severity is not None and body.severity is not ticket.severity:
        ticket.severity = body.severity
        sla.retarget(
            ticket, await policies.targets(session, ticket.municipality_code, body.severity)
        )
    repair = True if body.to is S.IN_REPAIR else body.repair  # taking it in is a repair
    if repair is not None:
        if repair and ticket.category in LOSS_CATEGORIES:
            raise NotApplicable("A lost or stolen device cannot go in for repair")
        ticket.repair = repair
    await move(
        session,
        ticket,
        body.to,
        actor=actor_of(principal),
        support=support,
        now=now,
        note=body.note,
        resolution=body.resolution,
    )
    return ticket


def _ensure_reporter_move(principal: Principal, ticket: Ticket, body: TransitionBody) -> None:
    if not access.is_reporter(principal, ticket):
        raise ActionForbidden("Only support staff of the municipality may move this ticket")
    if body.severity is not None or body.repair is not None:
        raise ActionForbidden("Only support staff may re-triage a ticket")
    if (ticket.state, body.to) not in REPORTER_MOVES:
        ensure_transition(ticket, body.to)  # an illegal move is 409 for everyone
        raise ActionForbidden(
            f"As the reporter you may not move the ticket from {ticket.state.value} to "
            f"{body.to.value}",
            allowed=sorted(t.value for f, t in REPORTER_MOVES if f is ticket.state),
        )


async def assign(
    *,
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    assignee_id: str | None,
    if_match: str | None,
    now: dt.datetime,
) -> Ticket:
    """Assign the ticket to a technician (or unassign it); a change publishes `ticket.assigned`."""
    access.ensure_support(principal, ticket, "assign tickets")
    ticket = await lock(session, ticket)
    check_if_match(if_match, ticket.version)
    if ticket.state is S.CLOSED:
        raise IllegalTransition("A closed ticket cannot be assigned", current_state="closed")
    changed = assignee_id != ticket.assignee_id
    ticket.assignee_id = assignee_id
    ticket.assigned_at = now if assignee_id else None
    await session.flush()
    if changed:  # assigning the same person again announces nothing
        events.publish(session, events.ASSIGNED, ticket)
    return ticket


async def confirm_loss(
    *,
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    police_report_number: str | None,
    if_match: str | None,
    now: dt.datetime,
) -> Ticket:
    """Confirm a loss or theft (see `effects`); support's confirmation acknowledges a new one."""
    ticket = await lock(session, ticket)
    check_if_match(if_match, ticket.version)
    acknowledge = await effects.confirm_loss(
        session,
        principal=principal,
        ticket=ticket,
        police_report_number=police_report_number,
        now=now,
    )
    if acknowledge:
        actor = actor_of(principal)
        await move(session, ticket, S.ACKNOWLEDGED, actor=actor, support=True, now=now)
    await session.flush()
    return ticket


async def request_loaner(
    *,
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    if_match: str | None,
    now: dt.datetime,
) -> Ticket:
    """Ask for a replacement device for the learner (see `effects`)."""
    ticket = await lock(session, ticket)
    check_if_match(if_match, ticket.version)
    await effects.request_loaner(session, principal=principal, ticket=ticket, now=now)
    await session.flush()
    return ticket
