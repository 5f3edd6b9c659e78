"""Loaners: the tickets service's `loaner.requested` makes a reservation that goes first in line
(above every social criterion), once per ticket, outside the learner's active limit."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reservations_service.config import ReservationsSettings
from reservations_service.consumers import LOANER_REQUESTED, build_handlers
from reservations_service.exceptions import InstitutionNotFound
from reservations_service.service.allocation_rules import LOANER_SCORE, WEIGHTS
from shared_kit.events import CloudEvent
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer

from .conftest import API, CHILD, RIGA, SCHOOL_A, Inventory, Tokens, reserve
from .test_consumers import checked

GUARDIAN = str(uuid.uuid4())


def loaner_event(ticket_id: str, **overrides: Any) -> CloudEvent:
    """`loaner.requested` as the tickets service publishes it."""
    data = {
        "ticket_id": ticket_id,
        "device_id": str(uuid.uuid4()),
        "municipality_code": RIGA,
        "institution_number": SCHOOL_A,
        "learner_id": CHILD,
        "borrower_id": GUARDIAN,
        "requested_by": "tech-0001",
        "requested_at": "2026-09-01T06:00:00Z",
        "category": "laptop",
        "os": "windows",
        **overrides,
    }
    return checked(
        CloudEvent(
            type=LOANER_REQUESTED,
            source="/datori/tickets",
            subject=ticket_id,
            data=data,
            municipality=RIGA,
        )
    )


class Tickets:
    """Applies loaner requests through the consumer's handler, in their own transactions."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: ReservationsSettings,
        clock: TestClock,
    ) -> None:
        self.sessions = sessions
        self.handler = build_handlers(settings, clock)[LOANER_REQUESTED]

    async def request(self, evt: CloudEvent) -> None:
        async with self.sessions() as session, session.begin():
            await self.handler(session, evt)


@pytest.fixture
def tickets(
    sessions: async_sessionmaker[AsyncSession], settings: ReservationsSettings, clock: TestClock
) -> Tickets:
    """The tickets service stand-in of this test."""
    return Tickets(sessions, settings, clock)


async def loaners(client: httpx.AsyncClient, tokens: Tokens) -> list[dict[str, Any]]:
    """Every reservation made as a loaner."""
    r = await client.get(API, headers=bearer(tokens.platform))
    return [item for item in r.json()["items"] if item["loaner_ticket_id"]]


class TestLoaner:
    def test_the_loaner_score_beats_every_combination_of_criteria(self) -> None:
        assert sum(WEIGHTS.values()) < LOANER_SCORE

    async def test_a_loaner_goes_first_in_line_and_gets_the_next_device(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        tickets: Tickets,
    ) -> None:
        device = await inventory.add()
        holder = await reserve(client, tokens.school_a, learner="l-holder")
        assert holder["device_id"] == device
        welfare = [{"criterion": "low_income", "source": "welfare_data"}]
        poor = await reserve(client, tokens.riga, learner="l-poor", social_criteria=welfare)
        assert poor["state"] == "waitlisted"
        await reserve(client, tokens.guardian)  # the learner's own, ordinary request

        ticket = str(uuid.uuid4())
        await tickets.request(loaner_event(ticket))
        await tickets.request(loaner_event(ticket))  # a replay: still one reservation
        [loaner] = await loaners(client, tokens)
        assert loaner["loaner_ticket_id"] == ticket and loaner["learner_id"] == CHILD
        assert loaner["priority_score"] == LOANER_SCORE and loaner["state"] == "waitlisted"
        assert loaner["requested_by"] == GUARDIAN  # the contract goes to the same guardian
        assert loaner["criteria"]["category"] == "laptop" and loaner["criteria"]["os"] == "windows"
        r = await client.get(f"{API}/{loaner['id']}", headers=bearer(tokens.platform))
        assert r.json()["waitlist_position"] == 1

        r = await client.post(f"{API}/{holder['id']}/cancel", headers=bearer(tokens.school_a))
        assert r.status_code == 200, r.text
        r = await client.get(f"{API}/{loaner['id']}", headers=bearer(tokens.platform))
        assert r.json()["state"] == "approved" and r.json()["device_id"] == device

    async def test_a_free_matching_device_is_approved_at_once(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        tickets: Tickets,
    ) -> None:
        await inventory.add(category="chromebook", os="chromeos")
        laptop = await inventory.add()
        await tickets.request(loaner_event(str(uuid.uuid4()), borrower_id=None))
        [loaner] = await loaners(client, tokens)
        assert loaner["state"] == "approved" and loaner["device_id"] == laptop
        assert loaner["requested_by"] == "tech-0001"

    async def test_an_unknown_institution_is_refused(
        self, schools: dict[str, str], tickets: Tickets
    ) -> None:
        with pytest.raises(InstitutionNotFound):
            await tickets.request(loaner_event(str(uuid.uuid4()), institution_number="99999"))
