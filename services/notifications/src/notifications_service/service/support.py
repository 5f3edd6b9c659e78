"""What ticket events tell the reporter and the technicians.

The reporter (a person; `reporter_id`) hears that the ticket was acknowledged, publicly
commented by someone else, and resolved. Technicians hear of an SLA that will break within
`AT_RISK` (a reminder at due - 4 h, planned from the clocks every ticket event carries and
re-planned when they move or stop) and of a breach: the assignee, or the municipality's
technicians (from the roster) while nobody is assigned.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.repository.readmodels import RosterRepository
from notifications_service.service.notices import Tell, tell, tell_each
from notifications_service.service.reminders import TECHNICIANS, Slot, replan

AT_RISK = dt.timedelta(hours=4)
SLA_AT_RISK = "sla_at_risk"
STOPPED = ("resolved", "closed")
TO_REPORTER = {"acknowledged": "ticket_acknowledged", "resolved": "ticket_resolved"}


@dataclass(frozen=True)
class TicketFacts:
    """A ticket event's facts."""

    ticket_id: uuid.UUID
    number: int
    municipality_code: str
    institution_number: str | None
    state: str
    assignee_id: str | None
    reporter_id: str | None
    first_response_at: dt.datetime | None
    response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None


def family_link(ticket_id: uuid.UUID) -> str:
    """The reporter's page of a ticket."""
    return f"/families/tickets/{ticket_id}"


def support_link(ticket_id: uuid.UUID) -> str:
    """The technicians' page of a ticket."""
    return f"/support/tickets/{ticket_id}"


def _params(facts: TicketFacts) -> dict[str, str | int | None]:
    return {"number": facts.number, "school": facts.institution_number}


async def technicians(session: AsyncSession, target: str) -> list[str]:
    """The people behind a target: one person, or a municipality's technicians."""
    if not target.startswith(TECHNICIANS):
        return [target]
    municipality = target.removeprefix(TECHNICIANS)
    return await RosterRepository(session).holders("technician", municipality_code=municipality)


def _target(facts: TicketFacts) -> str:
    return facts.assignee_id or f"{TECHNICIANS}{facts.municipality_code}"


async def ticket_changed(
    session: AsyncSession,
    change: str,
    facts: TicketFacts,
    *,
    cause: str,
    now: dt.datetime,
    breach: dict[str, str] | None = None,
) -> None:
    """Tell the reporter or the technicians what changed; re-plan the SLA reminders."""
    kind = TO_REPORTER.get(change)
    if kind is not None and facts.reporter_id:
        message = Tell(kind, facts.reporter_id, cause, _params(facts), family_link(facts.ticket_id))
        await tell(session, message, now=now)
    if change == "sla_breached":
        params = {**_params(facts), **(breach or {})}
        message = Tell("sla_breached", "", cause, params, support_link(facts.ticket_id))
        await tell_each(session, await technicians(session, _target(facts)), message, now=now)
    await plan_sla(session, facts, now=now)


async def ticket_commented(
    session: AsyncSession,
    facts: TicketFacts,
    *,
    author_id: str | None,
    cause: str,
    now: dt.datetime,
) -> None:
    """A public comment: the reporter hears of it unless they wrote it."""
    if not facts.reporter_id or facts.reporter_id == author_id:
        return
    message = Tell(
        "ticket_commented",
        facts.reporter_id,
        cause,
        _params(facts),
        family_link(facts.ticket_id),
    )
    await tell(session, message, now=now)


async def plan_sla(session: AsyncSession, facts: TicketFacts, *, now: dt.datetime) -> None:
    """A reminder 4 hours before each running SLA clock's due moment (at once when nearer)."""
    clocks: list[tuple[str, dt.datetime | None]] = []
    if facts.state not in STOPPED:
        if facts.first_response_at is None:
            clocks.append(("response", facts.response_due_at))
        clocks.append(("resolution", facts.resolution_due_at))
    slots = [
        Slot(
            kind=SLA_AT_RISK,
            subject_id=str(facts.ticket_id),
            # The target is part of the slot: a reassigned ticket warns its new assignee.
            key=f"{clock}:{due.astimezone(dt.UTC).isoformat()}:{_target(facts)}",
            person_id=_target(facts),
            # Already within 4 hours: now; the cause stays that of the due moment.
            due_at=max(due - AT_RISK, now),
            params={**_params(facts), "clock": clock, "due_at": due.astimezone(dt.UTC).isoformat()},
            link=support_link(facts.ticket_id),
        )
        for clock, due in clocks
        if due is not None and due > now
    ]
    subject = str(facts.ticket_id)
    await replan(session, subject_id=subject, kinds=[SLA_AT_RISK], slots=slots, now=now)
