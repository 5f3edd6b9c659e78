"""Tickets: report, list, read, move, assign, SLA clocks, loss confirmation, loaners."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from shared_kit.concurrency import IfMatch, etag
from shared_kit.db import statements_commit_alone
from shared_kit.deps import NowDep, ReadSessionDep, SessionDep
from shared_kit.fastjson import FastJSONResponse
from shared_kit.fields import ATVK_PATTERN, REG_NUMBER_PATTERN
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page
from shared_kit.problems import problem_responses
from tickets_service.deps import Reader, Settings, ValidTicket, Writer
from tickets_service.models import Category, Severity, TicketState
from tickets_service.router.base import (
    COMMON,
    PREFIX,
    READ,
    WRITE,
    headers,
    opened_answer,
    ticket_read,
)
from tickets_service.schemas import (
    AssignBody,
    ClockRead,
    ConfirmLossBody,
    SlaRead,
    TicketCreate,
    TicketFilters,
    TicketRead,
    TransitionBody,
)
from tickets_service.service import listing, sla, workflow
from tickets_service.service import tickets as service
from tickets_service.service.tickets import local_today

router = APIRouter(prefix=PREFIX, tags=["tickets"], responses=COMMON)

TRANSITIONS_DESCRIPTION = (
    "States: new → acknowledged → in_progress → in_repair → waiting_for_parts / "
    "waiting_for_reporter → resolved → closed; resolved or closed → acknowledged / in_progress "
    "/ in_repair reopens. Support "
    "(technicians and municipality administrators of the device's municipality) may make any "
    "of these moves, and may re-triage (`severity`) or flag a repair (`repair`) on the way; "
    "their first move out of `new` is the response that stops the response clock. Reporting "
    "and `in_progress` leave the device where it is; `in_repair` (the technician took the "
    "device in; sets the repair flag, 409 `not-applicable` for a lost or stolen device) sends "
    "it to the workshop (`repair.started`), and resolving brings it back "
    "(`repair.completed`). `waiting_for_reporter` pauses the "
    "resolution clock. The reporter may answer (waiting_for_reporter → acknowledged), close a "
    "resolved ticket, or reopen it (resolved → acknowledged). 409 `illegal-transition` for a "
    "move the state machine does not allow; 403 `action-forbidden` for a move that is not "
    "yours to make."
)


@router.post(
    "",
    status_code=201,
    response_model=TicketRead,
    responses=problem_responses(404, 409),
    description="Report a problem with a device (by `device_id` or `asset_tag`). You need a "
    "relation to it: lent to you or your child (guardians), to you (learners), of your "
    "institution (school staff) or of your municipality (support); else 403 "
    "`no-relation-to-device`. The ticket goes to the device's municipality's queue.",
)
async def create_ticket(
    body: TicketCreate,
    session: SessionDep,
    principal: Writer,
    idem: IdempotencyDep,
    settings: Settings,
    now: NowDep,
):
    """Report a problem."""
    if idem.key is None:  # one read, then one atomic write (`repository.reports`)
        await statements_commit_alone(session)
    elif replay := await idem.replay(body):
        return replay
    ticket, device = await service.create_ticket(
        session=session, principal=principal, data=body, now=now, settings=settings
    )
    location = {"Location": f"{PREFIX}/{ticket.id}"}
    return idem.respond_fast(201, opened_answer(ticket, device), {**headers(ticket), **location})


@router.get("", response_model=Page[TicketRead])
async def list_tickets(
    session: ReadSessionDep,
    principal: Reader,
    settings: Settings,
    now: NowDep,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    state: Annotated[list[TicketState] | None, Query()] = None,
    open: Annotated[bool | None, Query(description="Only open (or only done) tickets")] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    category: Annotated[list[Category] | None, Query()] = None,
    breached: Annotated[bool | None, Query(description="With (or without) an SLA breach")] = None,
    municipality_code: Annotated[str | None, Query(pattern=ATVK_PATTERN)] = None,
    institution_number: Annotated[str | None, Query(pattern=REG_NUMBER_PATTERN)] = None,
    device_id: uuid.UUID | None = None,
    assignee_id: Annotated[str | None, Query(max_length=200)] = None,
    unassigned: bool = False,
):
    """Tickets you may see (reporters: their own), oldest first: the queue order."""
    filters = TicketFilters(
        states=state or [],
        severities=severity or [],
        categories=category or [],
        open=open,
        breached=breached,
        municipality_code=municipality_code,
        institution_number=institution_number,
        device_id=device_id,
        assignee_id=assignee_id,
        unassigned=unassigned,
    )
    found = await listing.list_tickets(
        session=session,
        principal=principal,
        filters=filters,
        cursor=cursor,
        limit=limit,
        today=local_today(now, settings.timezone),
    )
    # The rows go straight to JSON: Page[TicketRead]'s fields, written as pydantic would.
    return FastJSONResponse({"items": found.items, "next_cursor": found.next_cursor})


@router.get("/{ticket_id}", response_model=TicketRead, responses=READ)
async def get_ticket(
    ticket: ValidTicket, session: SessionDep, settings: Settings, now: NowDep, response: Response
):
    """One ticket, with the device's status, warranty and insurance."""
    response.headers["ETag"] = etag(ticket.version)
    return await ticket_read(session, ticket, now, settings.timezone)


@router.post(
    "/{ticket_id}/transitions",
    response_model=TicketRead,
    responses=WRITE,
    description=TRANSITIONS_DESCRIPTION,
)
async def transition_ticket(
    body: TransitionBody,
    ticket: ValidTicket,
    session: SessionDep,
    principal: Writer,
    idem: IdempotencyDep,
    settings: Settings,
    now: NowDep,
    if_match: IfMatch = None,
):
    """Move a ticket to another state."""
    if replay := await idem.replay(body):
        return replay
    ticket = await workflow.transition(
        session=session,
        principal=principal,
        ticket=ticket,
        body=body,
        if_match=if_match,
        now=now,
    )
    answer = await ticket_read(session, ticket, now, settings.timezone)
    return idem.respond(200, answer, headers(ticket))


@router.post("/{ticket_id}/assign", response_model=TicketRead, responses=WRITE)
async def assign_ticket(
    body: AssignBody,
    ticket: ValidTicket,
    session: SessionDep,
    principal: Writer,
    settings: Settings,
    now: NowDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Assign the ticket to a technician, or unassign it (support staff)."""
    ticket = await workflow.assign(
        session=session,
        principal=principal,
        ticket=ticket,
        assignee_id=body.assignee_id,
        if_match=if_match,
        now=now,
    )
    response.headers.update(headers(ticket))
    return await ticket_read(session, ticket, now, settings.timezone)


@router.get("/{ticket_id}/sla", response_model=SlaRead, responses=READ)
async def get_sla(ticket: ValidTicket, now: NowDep):
    """Both SLA clocks now: elapsed, remaining, paused time and breach."""
    return SlaRead(
        ticket_id=ticket.id,
        severity=ticket.severity,
        state=ticket.state,
        at=now,
        response=_clock(sla.response_view(ticket, now), ticket.response_target_minutes),
        resolution=_clock(sla.resolution_view(ticket, now), ticket.resolution_target_minutes),
    )


def _clock(view: sla.ClockView, target_minutes: int) -> ClockRead:
    return ClockRead(
        target_minutes=target_minutes,
        state=view.state.value,
        elapsed_seconds=int(view.elapsed.total_seconds()),
        remaining_seconds=int(view.remaining.total_seconds()),
        paused_seconds=int(view.paused.total_seconds()),
        due_at=view.due_at,
        breached=view.breached,
        breached_at=view.breached_at,
    )


@router.post(
    "/{ticket_id}/confirm-loss",
    response_model=TicketRead,
    responses=WRITE,
    description="Support or the school's administrators confirm a lost or stolen device "
    "(once): the inventory marks it lost / stolen and the loan contract records it. A `new` "
    "ticket confirmed by support is acknowledged with it.",
)
async def confirm_loss(
    ticket: ValidTicket,
    session: SessionDep,
    principal: Writer,
    idem: IdempotencyDep,
    settings: Settings,
    now: NowDep,
    body: ConfirmLossBody | None = None,
    if_match: IfMatch = None,
):
    """Confirm a loss or theft."""
    body = body or ConfirmLossBody()
    if replay := await idem.replay(body):
        return replay
    ticket = await workflow.confirm_loss(
        session=session,
        principal=principal,
        ticket=ticket,
        police_report_number=body.police_report_number,
        if_match=if_match,
        now=now,
    )
    answer = await ticket_read(session, ticket, now, settings.timezone)
    return idem.respond(200, answer, headers(ticket))


@router.post(
    "/{ticket_id}/loaner",
    status_code=202,
    response_model=TicketRead,
    responses=problem_responses(404, 409, 412),
    description="While the learner's device is in repair, lost or stolen, support or the "
    "school's administrators ask (once per ticket) for a replacement: the reservations "
    "service makes a top-priority reservation for the learner at the same institution "
    "(accepted here; the reservation follows through the event).",
)
async def request_loaner(
    ticket: ValidTicket,
    session: SessionDep,
    principal: Writer,
    idem: IdempotencyDep,
    settings: Settings,
    now: NowDep,
    if_match: IfMatch = None,
):
    """Request a loaner device for the learner."""
    if replay := await idem.replay({}):
        return replay
    ticket = await workflow.request_loaner(
        session=session,
        principal=principal,
        ticket=ticket,
        if_match=if_match,
        now=now,
    )
    answer = await ticket_read(session, ticket, now, settings.timezone)
    return idem.respond(202, answer, headers(ticket))
