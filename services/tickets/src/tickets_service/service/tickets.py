"""Ticket use cases: report, read, the automatic ticket of a damaged return, the queue.

A report is validated in full before anything is written: the device is known (by id, or by
an asset tag that names exactly one device the caller is related to) and the caller has a
relation to it (`access`). The ticket is routed to the device's owner municipality, notes the
loan the device is on (whose child is without a computer), and marks a warranty claim for a
hardware fault while the device's warranty runs (its last day counted in local time). Working
a ticket (the state machine and what moves it) is `workflow`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.auth import Principal
from shared_kit.events.outbox import outbox_values
from shared_kit.tenancy import actor_of
from tickets_service import events
from tickets_service.config import TicketsSettings
from tickets_service.exceptions import (
    AmbiguousAssetTag,
    DeviceNotFound,
    TicketNotFound,
)
from tickets_service.models import (
    LOSS_CATEGORIES,
    REPAIR_CATEGORIES,
    WARRANTY_CATEGORIES,
    Category,
    ContactPreference,
    Device,
    NewTicket,
    ReporterKind,
    Severity,
    Ticket,
    TicketSource,
    TicketState,
    Transition,
)
from tickets_service.repository import (
    DeviceFacts,
    DeviceRepository,
    LoanRepository,
    QueueCounts,
    ReportFacts,
    ReportRepository,
    TicketRepository,
)
from tickets_service.schemas import DeviceInfo, TicketCreate
from tickets_service.service import access, effects, policies, readmodel, sla
from tickets_service.service.readmodel import ReturnFacts
from tickets_service.service.sla import DEFAULT_TARGETS


def local_today(now: dt.datetime, timezone: str) -> dt.date:
    """Today's date where the programme runs."""
    return now.astimezone(ZoneInfo(timezone)).date()


def device_values(device: Any, today: dt.date) -> dict[str, Any] | None:
    """The device's status with its warranty and insurance as of today: `DeviceInfo`'s
    fields in plain values (for `fastjson`), None for no device."""
    if device is None:
        return None
    warranty, insured = device.warranty_ends_on, device.insured_until
    return {
        "status": device.status,
        "category": device.category,
        "os": device.os,
        "warranty_ends_on": warranty,
        "under_warranty": warranty is not None and warranty >= today,
        "insured_until": insured,
        "insured": insured is not None and insured >= today,
    }


def device_info(device: Device | DeviceFacts | None, today: dt.date) -> DeviceInfo | None:
    """The device's status with its warranty and insurance as of today."""
    values = device_values(device, today)
    return None if values is None else DeviceInfo(**values)


# Reading ------------------------------------------------------------------------------------


async def get_ticket(
    *, session: AsyncSession, principal: Principal, ticket_id: uuid.UUID
) -> Ticket:
    """A ticket the principal may see (404 when missing, 403 outside their tenancy)."""
    ticket = await TicketRepository(session).get(ticket_id)
    if ticket is None:
        raise TicketNotFound(f"No ticket with id {ticket_id}")
    access.ensure_may_see(principal, ticket)
    return ticket


async def device_of(session: AsyncSession, ticket: Ticket, today: dt.date) -> DeviceInfo | None:
    """Device info for the ticket's device."""
    return device_info(await DeviceRepository(session).get(ticket.device_id), today)


# Reporting ----------------------------------------------------------------------------------


async def _reported_facts(
    session: AsyncSession, principal: Principal, data: TicketCreate
) -> tuple[ReportFacts, ReporterKind]:
    reports = ReportRepository(session)
    device_id = data.device_id or await _device_by_tag(session, principal, data)
    facts = await reports.facts(device_id, data.severity)
    if facts is None:
        raise DeviceNotFound(f"No device {device_id} is known to tickets")
    return facts, access.ensure_relation(principal, facts.device, facts.loan)


async def _device_by_tag(
    session: AsyncSession, principal: Principal, data: TicketCreate
) -> uuid.UUID:
    """The one device with this asset tag the principal is related to."""
    assert data.asset_tag is not None
    devices, loans = DeviceRepository(session), LoanRepository(session)
    candidates = await devices.by_asset_tag(data.asset_tag)
    if not candidates:
        raise DeviceNotFound(f"No device with asset tag {data.asset_tag} is known to tickets")
    related = []
    for device in candidates:
        loan = await loans.active_for(device.id)
        if access.relation(principal, device, loan) is not None:
            related.append(device.id)
    if not related:
        access.ensure_relation(principal, candidates[0], None)  # raises 403
    if len(related) > 1:
        raise AmbiguousAssetTag(
            f"Asset tag {data.asset_tag} names {len(related)} devices you may report for; "
            "give device_id instead",
            device_ids=[str(d) for d in related],
        )
    return related[0]


async def create_ticket(
    *,
    session: AsyncSession,
    principal: Principal,
    data: TicketCreate,
    now: dt.datetime,
    settings: TicketsSettings,
) -> tuple[NewTicket, DeviceInfo | None]:
    """Validate and record a problem report; the ticket as written and its device's info."""
    facts, kind = await _reported_facts(session, principal, data)
    device, loan, today = facts.device, facts.loan, local_today(now, settings.timezone)
    institution = device.institution_number or (loan.institution_number if loan else None)
    repair = data.repair if data.repair is not None else data.category in REPAIR_CATEGORIES
    under_warranty = device.warranty_ends_on is not None and device.warranty_ends_on >= today
    ticket = NewTicket(
        id=uuid.uuid4(),
        number=facts.number,
        device_id=device.id,
        asset_tag=device.asset_tag,
        municipality_code=device.municipality_code,
        institution_number=institution,
        category=data.category,
        severity=data.severity,
        description=data.description,
        contact_preference=data.contact_preference,
        police_report_number=data.police_report_number,
        source=TicketSource.API,
        reporter_id=access.reporter_id(principal),
        reporter_kind=kind,
        reporter_is_person=principal.client_id is None,
        contract_id=loan.contract_id if loan else None,
        learner_id=loan.learner_id if loan else None,
        borrower_id=loan.borrower_id if loan else None,
        repair=repair and data.category not in LOSS_CATEGORIES,
        warranty_claim=under_warranty and data.category in WARRANTY_CATEGORIES,
        **sla.opening(now, facts.targets or DEFAULT_TARGETS[data.severity]),
    )  # not a mapped `Ticket`: written below in one statement
    transition = {"id": uuid.uuid4(), "from_state": None, "to_state": TicketState.NEW}
    event = outbox_values(session, events.ticket_event(events.OPENED, ticket))
    await ReportRepository(session).insert(
        ticket, {**transition, "actor": actor_of(principal), "at": now}, event
    )
    return ticket, device_info(device, today)


async def _open(session: AsyncSession, ticket: Ticket, now: dt.datetime, actor: str) -> None:
    targets = await policies.targets(session, ticket.municipality_code, ticket.severity)
    sla.start(ticket, now, targets)
    repo = TicketRepository(session)
    repo.add(ticket)
    await session.flush()  # the number comes from the database
    repo.add_transition(
        Transition(
            ticket_id=ticket.id,
            from_state=None,
            to_state=TicketState.NEW,
            actor=actor,
            at=now,
        )
    )
    events.publish(session, events.OPENED, ticket)


async def contract_returned(
    session: AsyncSession, facts: ReturnFacts, *, at: dt.datetime, now: dt.datetime
) -> Ticket | None:
    """The device came back: its loan ends, and a damaged or incomplete return opens a ticket."""
    await readmodel.loan_ended(session, facts.loan.contract_id, at)
    return await open_from_return(session, facts, now)


async def open_from_return(
    session: AsyncSession, facts: ReturnFacts, now: dt.datetime
) -> Ticket | None:
    """A damaged (or incomplete) return opens a ticket for the institution, once per contract.

    A damaged device's repair starts with the ticket (`repair.started`; the inventory has
    already moved it to `in_repair` at the return, so that changes nothing there)."""
    if facts.condition not in ("damaged", "accessories_missing"):
        return None
    if await TicketRepository(session).from_return(facts.loan.contract_id) is not None:
        return None
    device = await DeviceRepository(session).get(facts.loan.device_id)
    ticket = _return_ticket(facts, device)
    await _open(session, ticket, now, ticket.reporter_id)  # the institution
    if ticket.repair:
        # The inventory took the damaged device out of service at its return; the repair is
        # under way from now, so resolving the ticket (by any path) brings the device back.
        effects.start_repair(session, ticket, now)
    return ticket


def _return_ticket(facts: ReturnFacts, device: Device | None) -> Ticket:
    loan, damaged = facts.loan, facts.condition == "damaged"
    what = "damaged" if damaged else "with accessories missing"
    return Ticket(
        id=uuid.uuid4(),
        device_id=loan.device_id,
        asset_tag=device.asset_tag if device else None,
        municipality_code=device.municipality_code if device else loan.municipality_code,
        institution_number=loan.institution_number,
        category=Category.DAMAGE if damaged else Category.ACCESSORY_MISSING,
        severity=Severity.HIGH if damaged else Severity.NORMAL,
        state=TicketState.NEW,
        description=f"Returned {what} (contract {facts.contract_number})."
        + (f"\n\nNotes at the return: {facts.notes}" if facts.notes else ""),
        contact_preference=ContactPreference.SCHOOL,
        source=TicketSource.CONTRACT_RETURN,
        reporter_id=f"institution:{loan.institution_number}",
        reporter_kind=ReporterKind.INSTITUTION,
        reporter_is_person=False,
        contract_id=loan.contract_id,
        learner_id=loan.learner_id,
        borrower_id=loan.borrower_id,
        repair=damaged,
        warranty_claim=False,  # damage is not a manufacturer's fault
        return_photo_ids=[str(p) for p in facts.photo_ids],
    )


# The queue ----------------------------------------------------------------------------------


async def queue(
    *, session: AsyncSession, principal: Principal, municipality_code: str
) -> QueueCounts:
    """Counts of a municipality's support queue."""
    access.ensure_sees_queue(principal, municipality_code)
    return await TicketRepository(session).queue(municipality_code)
