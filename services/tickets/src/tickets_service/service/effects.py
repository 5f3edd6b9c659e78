"""What a ticket does to its device, and the loaner for the learner.

- **Repair**: reporting a problem changes nothing on the device, nor does working on it
  (`in_progress`): the device may have no fault at all. When the technician takes the device
  in, the ticket enters `in_repair` (which sets its `repair` flag) and, unless a repair of it
  is under way, publishes `repair.started`; the inventory marks the device `in_repair`.
  Resolving it publishes `repair.completed`; the inventory puts the device back where it was
  (on loan, or available / reserved). A ticket resolved without a repair publishes neither.
  A reopened ticket's next `in_repair` starts a new repair. A ticket opened from a damaged
  return starts its repair at once (the inventory took the device out of service at the
  return already).
- **Loss**: for a lost or stolen ticket, support or the school's administrators confirm the
  loss once (`device.lost_confirmed` / `device.stolen_confirmed`, with the loan's contract
  and, for a theft, the police report number); the inventory marks the device, the contracts
  service records it on the loan. Confirming a `new` ticket also acknowledges it.
- **Loaner**: while the device of a learner is away (a repair ticket, or a loss), support or
  the school's administrators ask the reservations service, once per ticket, for a
  replacement (`loaner.requested`): a top-priority request at the same institution for a
  device of the same category and OS, borrowed by the same guardian.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.auth import Principal
from shared_kit.tenancy import actor_of
from tickets_service import events
from tickets_service.exceptions import AlreadyDone, NoLearner, NotApplicable, TicketClosed
from tickets_service.models import (
    DONE_STATES,
    LOSS_CATEGORIES,
    Category,
    Ticket,
    TicketState,
)
from tickets_service.repository import DeviceRepository, LoanRepository
from tickets_service.service import access


def repairing(ticket: Ticket) -> bool:
    """Whether a repair of this ticket is under way."""
    return ticket.repair_started_at is not None and ticket.repair_completed_at is None


def start_repair(session: AsyncSession, ticket: Ticket, now: dt.datetime) -> None:
    """The device goes to the workshop (once per repair)."""
    if not ticket.repair or repairing(ticket) or ticket.category in LOSS_CATEGORIES:
        return
    ticket.repair_started_at = now
    ticket.repair_completed_at = None
    events.publish_effect(
        session, events.REPAIR_STARTED, ticket, started_at=now, warranty_claim=ticket.warranty_claim
    )


def complete_repair(session: AsyncSession, ticket: Ticket, now: dt.datetime) -> None:
    """The device is back from the workshop."""
    if not repairing(ticket):
        return
    ticket.repair_completed_at = now
    events.publish_effect(session, events.REPAIR_COMPLETED, ticket, completed_at=now)


def _ensure_open(ticket: Ticket) -> None:
    if ticket.state in DONE_STATES:
        raise TicketClosed(f"The ticket is {ticket.state.value}; reopen it first")


async def confirm_loss(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket: Ticket,
    police_report_number: str | None,
    now: dt.datetime,
) -> bool:
    """Confirm a loss or theft; True when a `new` ticket must be acknowledged with it."""
    access.ensure_staff_action(principal, ticket, "confirm a loss")
    if ticket.category not in LOSS_CATEGORIES:
        raise NotApplicable("Only a lost or stolen ticket's loss can be confirmed")
    _ensure_open(ticket)
    if ticket.loss_confirmed_at is not None:
        raise AlreadyDone(
            "The loss was confirmed already", confirmed_at=ticket.loss_confirmed_at.isoformat()
        )
    if police_report_number is not None:
        if ticket.category is not Category.STOLEN:
            raise NotApplicable("A police report number belongs to a theft")
        ticket.police_report_number = police_report_number
    ticket.loss_confirmed_at = now
    loan = await LoanRepository(session).active_for(ticket.device_id)
    contract_id = ticket.contract_id or (loan.contract_id if loan else None)
    if ticket.category is Category.STOLEN:
        events.publish_effect(
            session,
            events.STOLEN_CONFIRMED,
            ticket,
            confirmed_at=now,
            contract_id=contract_id,
            police_report_number=ticket.police_report_number,
        )
    else:
        events.publish_effect(
            session, events.LOST_CONFIRMED, ticket, confirmed_at=now, contract_id=contract_id
        )
    return ticket.state is TicketState.NEW and access.is_support(principal, ticket)


async def request_loaner(
    session: AsyncSession, *, principal: Principal, ticket: Ticket, now: dt.datetime
) -> None:
    """Ask the reservations service for a replacement device for the learner (once)."""
    access.ensure_staff_action(principal, ticket, "request a loaner")
    _ensure_open(ticket)
    if not (ticket.repair or ticket.category in LOSS_CATEGORIES):
        raise NotApplicable("A loaner replaces a device that is in repair, lost or stolen")
    if ticket.loaner_requested_at is not None:
        raise AlreadyDone(
            "A loaner was requested already", requested_at=ticket.loaner_requested_at.isoformat()
        )
    loan = await LoanRepository(session).active_for(ticket.device_id)
    learner = ticket.learner_id or (loan.learner_id if loan else None)
    institution = ticket.institution_number or (loan.institution_number if loan else None)
    if learner is None or institution is None:
        raise NoLearner("The device is not on loan to a learner, so no loaner is needed")
    device = await DeviceRepository(session).get(ticket.device_id)
    ticket.loaner_requested_at = now
    ticket.loaner_requested_by = actor_of(principal)
    payload = events.LoanerRequested(
        ticket_id=ticket.id,
        device_id=ticket.device_id,
        municipality_code=ticket.municipality_code,
        institution_number=institution,
        learner_id=learner,
        borrower_id=ticket.borrower_id or (loan.borrower_id if loan else None),
        # The event keeps the plain id its consumers read (the reservation's requester).
        requested_by=principal.client_id or principal.subject,
        requested_at=now,
        category=device.category if device else None,
        os=device.os if device else None,
    )
    events.publish_loaner(session, payload)
