"""Upstream events in their producers' shapes, fed through the service's own handlers (the
kit's inbox included, as the broker's consumer does), and readers of what the rules made."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from notifications_service import consumers
from notifications_service.models import Notice, Reminder
from notifications_service.service import schedule
from shared_kit.db import session_scope
from shared_kit.events import CloudEvent
from shared_kit.events.consumer import apply_once
from shared_kit.testing.clock import TestClock

RIGA = "0010000"
SCHOOL = "3113900001"
OTHER_SCHOOL = "3113900002"
GUARDIAN = "7d1c2a4e-1111-4c3b-9a55-000000000001"
CHILD = "learner-0001"


def reservation_event(kind: str, reservation_id: str, **fields: Any) -> CloudEvent:
    """A reservations event as the reservations service publishes it."""
    states = {"offered": "approved", "fulfilled": "fulfilled"}
    data: dict[str, Any] = {
        "reservation_id": reservation_id,
        "device_id": None,
        "municipality_code": RIGA,
        "institution_number": SCHOOL,
        "beneficiary": "learner",
        "learner_id": CHILD,
        "requested_by": GUARDIAN,
        "period_start": "2026-10-06T21:00:00+00:00",
        "period_end": "2027-06-29T21:00:00+00:00",
        "state": states.get(kind, kind),
        "reason": None,
        "priority_score": 20,
        "social_criteria": [],
        "requested_at": "2026-10-05T07:00:00+00:00",
        "pickup_deadline": None,
        **fields,
    }
    return CloudEvent(
        type=f"lv.datori.reservations.reservation.{kind}.v1",
        source="/datori/reservations",
        subject=reservation_id,
        data=data,
        municipality=RIGA,
    )


def contract_event(
    kind: str, contract_id: str, reservation_id: str, state: str, **fields: Any
) -> CloudEvent:
    """A contracts event as the contracts service publishes it."""
    data: dict[str, Any] = {
        "contract_id": contract_id,
        "number": "RIX-2026-000042",
        "reservation_id": reservation_id,
        "device_id": str(uuid.uuid4()),
        "municipality_code": RIGA,
        "institution_number": SCHOOL,
        "learner_id": CHILD,
        "borrower_id": GUARDIAN,
        "state": state,
        "period_start": "2026-10-06T21:00:00+00:00",
        "period_end": "2027-06-29T21:00:00+00:00",
        "document_version": 1,
        "document_sha256": "0" * 64,
        "device_loss": None,
        **fields,
    }
    return CloudEvent(
        type=f"lv.datori.contracts.contract.{kind}.v1",
        source="/datori/contracts",
        subject=contract_id,
        data=data,
        municipality=RIGA,
    )


def ticket_event(kind: str, ticket_id: str, **fields: Any) -> CloudEvent:
    """A tickets event with the reporter and the SLA clocks."""
    data: dict[str, Any] = {
        "ticket_id": ticket_id,
        "number": 1042,
        "device_id": str(uuid.uuid4()),
        "municipality_code": RIGA,
        "institution_number": SCHOOL,
        "category": "screen",
        "severity": "normal",
        "state": kind if kind != "opened" else "new",
        "source": "portal",
        "reporter_kind": "guardian",
        "learner_id": CHILD,
        "contract_id": None,
        "repair": False,
        "warranty_claim": False,
        "assignee_id": None,
        "opened_at": "2026-10-05T07:00:00+00:00",
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": None,
        "reporter_id": GUARDIAN,
        "response_due_at": "2026-10-05T15:00:00+00:00",
        "resolution_due_at": "2026-10-08T15:00:00+00:00",
        **fields,
    }
    return CloudEvent(
        type=f"lv.datori.tickets.ticket.{kind}.v1",
        source="/datori/tickets",
        subject=ticket_id,
        data=data,
        municipality=RIGA,
    )


def roles_event(person_id: str, roles: list[dict[str, Any]], at: dt.datetime) -> CloudEvent:
    """The gateway's `roles_changed` for a person."""
    return CloudEvent(
        type="lv.datori.identity.person.roles_changed.v1",
        source="/datori/gateway",
        subject=person_id,
        data={"person_id": person_id, "roles": roles, "changed_at": at.isoformat()},
    )


class Feed:
    """Applies events as the consumer does, moves the clock, runs the scheduler, reads back."""

    def __init__(self, app: FastAPI, clock: TestClock) -> None:
        self.app, self.clock = app, clock
        self.sessions = app.state.sessions
        self.handlers = consumers.build_handlers(clock, app.state.settings.timezone)

    async def __call__(self, *events: CloudEvent) -> None:
        """Apply events once each through the inbox (a second delivery is a no-op), a second
        apart."""
        for evt in events:
            self.clock.advance(seconds=1)
            async for session in session_scope(self.sessions):
                await apply_once(session, "test", evt, self.handlers[evt.type])

    async def again(self, evt: CloudEvent) -> None:
        """Apply an event's handler once more, past the inbox (a replay by another route)."""
        async for session in session_scope(self.sessions):
            await self.handlers[evt.type](session, evt)

    async def scan(self, at: dt.datetime | None = None) -> dict[str, int]:
        """One scheduler pass at `at` (the clock moved there) or the clock's now."""
        if at is not None:
            self.clock.set(at)
        return await schedule.scan(self.sessions, self.app.state.settings, now=self.clock())

    async def notices(self, person_id: str = GUARDIAN) -> list[Notice]:
        """A person's notices, oldest first."""
        async for session in session_scope(self.sessions):
            stmt = select(Notice).where(Notice.person_id == person_id)
            rows = await session.scalars(stmt.order_by(Notice.created_at, Notice.cause))
            return list(rows.all())
        return []

    async def kinds(self, person_id: str = GUARDIAN) -> list[str]:
        """The kinds a person was told, oldest first."""
        return [n.kind for n in await self.notices(person_id)]

    async def reminders(self, subject_id: str) -> list[Reminder]:
        """A subject's reminders, in due order."""
        async for session in session_scope(self.sessions):
            stmt = select(Reminder).where(Reminder.subject_id == subject_id)
            return list((await session.scalars(stmt.order_by(Reminder.due_at))).all())
        return []

    async def planned(self, subject_id: str) -> list[tuple[str, dt.datetime]]:
        """(kind, due) of a subject's planned reminders."""
        return [
            (r.kind, r.due_at) for r in await self.reminders(subject_id) if r.state == "planned"
        ]
