"""Who is told what, and when: events become notices once, reminders are planned, moved,
cancelled and fired once by the scheduler, on the real PostgreSQL with a moved clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from fastapi import FastAPI

from shared_kit.testing.clock import TestClock

from .upstream import (
    GUARDIAN,
    OTHER_SCHOOL,
    RIGA,
    SCHOOL,
    Feed,
    contract_event,
    reservation_event,
    roles_event,
    ticket_event,
)

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    """A UTC moment."""
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
async def feed(app: FastAPI, clock: TestClock, client: object) -> Feed:
    """The service's handlers and scheduler on this test's database (the app started)."""
    return Feed(app, clock)


def ids() -> tuple[str, str]:
    """A fresh reservation id and contract id."""
    return str(uuid.uuid4()), str(uuid.uuid4())


class TestOnce:
    async def test_an_event_delivered_twice_tells_once(self, feed: Feed) -> None:
        reservation, _ = ids()
        approved = reservation_event("approved", reservation)
        await feed(approved, approved)
        await feed.again(approved)
        assert await feed.kinds() == ["reservation_approved"]
        notice = (await feed.notices())[0]
        assert notice.cause == approved.id
        assert notice.link == f"/families/reservations/{reservation}"
        assert notice.params["school"] == SCHOOL

    async def test_an_offer_and_its_approval_are_one_message(self, feed: Feed) -> None:
        reservation, _ = ids()
        await feed(
            reservation_event("waitlisted", reservation),
            reservation_event("offered", reservation),
            reservation_event("approved", reservation),
        )
        assert await feed.kinds() == ["reservation_waitlisted", "reservation_offered"]

    async def test_a_loaner_is_offered_not_waitlisted(self, feed: Feed) -> None:
        reservation, _ = ids()
        await feed(
            reservation_event("requested", reservation, priority_score=1000),
            reservation_event("waitlisted", reservation, priority_score=1000),
            reservation_event("offered", reservation, priority_score=1000),
            reservation_event("approved", reservation, priority_score=1000),
        )
        assert await feed.kinds() == ["loaner_offered"]

    async def test_an_event_without_the_fields_tells_nobody(self, feed: Feed) -> None:
        reservation, _ = ids()
        evt = reservation_event("approved", reservation)
        del evt.data["requested_by"]
        await feed(evt)
        assert await feed.kinds() == []


class TestJourney:
    async def test_the_guardian_hears_each_step_once(self, feed: Feed, clock: TestClock) -> None:
        reservation, contract = ids()
        await feed(
            reservation_event("requested", reservation),
            reservation_event("approved", reservation, pickup_deadline="2026-10-12T15:00:00Z"),
            contract_event(
                "drafted",
                contract,
                reservation,
                "awaiting_borrower",
                sign_by="2026-10-19T07:00:00Z",
                lender_complete=True,
            ),
        )
        assert await feed.planned(contract) == [
            ("contract_sign_reminder", at(2026, 10, 17, 6))  # 09:00 in Riga, 2 days before
        ]
        clock.set(at(2026, 10, 6, 9))
        await feed(contract_event("signed_by_borrower", contract, reservation, "awaiting_lender"))
        assert await feed.planned(contract) == []
        assert await feed.planned(reservation) == [("pickup_reminder", at(2026, 10, 11, 6))]
        await feed.scan(at(2026, 10, 11, 6))
        clock.set(at(2026, 10, 12, 8))
        await feed(contract_event("activated", contract, reservation, "active"))
        assert await feed.planned(reservation) == []
        assert await feed.planned(contract) == [
            ("return_due_soon", at(2027, 6, 22, 6)),  # the last day is 29 June
            ("return_due_tomorrow", at(2027, 6, 28, 6)),
        ]
        await feed.scan(at(2027, 6, 22, 6))
        await feed.scan()
        await feed.scan(at(2027, 6, 28, 7))
        clock.set(at(2027, 6, 30, 0))
        overdue = contract_event(
            "overdue", contract, reservation, "active", overdue_since="2027-06-30T00:00:00Z"
        )
        await feed(overdue)
        for day in range(1, 60):
            await feed.scan(at(2027, 6, 30, 6) + dt.timedelta(days=day))
        assert await feed.kinds() == [
            "reservation_approved",
            "contract_ready_to_sign",
            "device_ready_to_collect",
            "pickup_reminder",
            "return_due_soon",
            "return_due_tomorrow",
            "loan_overdue",
            "loan_overdue",
            "loan_overdue",
            "loan_overdue",
        ]
        overdue_days = [n.created_at for n in await feed.notices() if n.kind == "loan_overdue"]
        assert [d.date() for d in overdue_days] == [
            dt.date(2027, 7, 1),
            dt.date(2027, 7, 8),
            dt.date(2027, 7, 15),
            dt.date(2027, 7, 22),
        ]

    async def test_an_agreement_not_yet_signable_waits(self, feed: Feed) -> None:
        reservation, contract = ids()
        draft = {"sign_by": "2026-10-19T07:00:00Z"}
        await feed(
            contract_event(
                "drafted", contract, reservation, "drafted", lender_complete=False, **draft
            )
        )
        assert await feed.kinds() == []
        again = contract_event(
            "drafted", contract, reservation, "awaiting_borrower", lender_complete=True, **draft
        )
        await feed(again)
        await feed(
            contract_event(
                "drafted", contract, reservation, "awaiting_borrower", lender_complete=True, **draft
            )
        )
        assert await feed.kinds() == ["contract_ready_to_sign"]


class TestReplanning:
    async def test_a_moved_period_end_moves_the_return_reminders(self, feed: Feed) -> None:
        reservation, contract = ids()
        await feed(contract_event("activated", contract, reservation, "active"))
        moved = contract_event(
            "activated", contract, reservation, "active", period_end="2027-05-31T21:00:00Z"
        )
        await feed(moved)
        assert await feed.planned(contract) == [
            ("return_due_soon", at(2027, 5, 24, 6)),
            ("return_due_tomorrow", at(2027, 5, 30, 6)),
        ]
        states = sorted(r.state for r in await feed.reminders(contract))
        assert states == ["cancelled", "cancelled", "planned", "planned"]
        await feed.scan(at(2027, 7, 1))
        assert await feed.kinds() == ["return_due_soon", "return_due_tomorrow"]

    async def test_a_return_cancels_the_reminders(self, feed: Feed) -> None:
        reservation, contract = ids()
        await feed(contract_event("activated", contract, reservation, "active"))
        await feed(contract_event("returned", contract, reservation, "returned"))
        assert await feed.planned(contract) == []
        await feed.scan(at(2027, 7, 1))
        assert await feed.kinds() == []

    async def test_a_cancelled_reservation_cancels_the_pickup_reminder(self, feed: Feed) -> None:
        reservation, contract = ids()
        await feed(
            reservation_event("approved", reservation, pickup_deadline="2026-10-12T15:00:00Z"),
            contract_event("signed_by_borrower", contract, reservation, "awaiting_lender"),
        )
        assert await feed.planned(reservation) == [("pickup_reminder", at(2026, 10, 11, 6))]
        await feed(reservation_event("cancelled", reservation))
        assert await feed.planned(reservation) == []

    async def test_a_replaced_contract_is_not_the_one_the_reminder_follows(
        self, feed: Feed
    ) -> None:
        reservation, old = ids()
        _, new = ids()
        deadline = {"pickup_deadline": "2026-10-12T15:00:00Z"}
        await feed(
            reservation_event("approved", reservation, **deadline),
            # the device was withdrawn (its contract cancelled) and another approved: a new
            # contract, signed
            contract_event("cancelled", old, reservation, "cancelled"),
            contract_event("signed_by_borrower", new, reservation, "awaiting_lender"),
            reservation_event("approved", reservation, **deadline),
        )
        assert await feed.planned(reservation) == [("pickup_reminder", at(2026, 10, 11, 6))]

    async def test_a_repeated_scan_and_a_second_scanner_make_nothing_twice(
        self, feed: Feed, app: FastAPI
    ) -> None:
        reservation, contract = ids()
        await feed(contract_event("activated", contract, reservation, "active"))
        feed.clock.set(at(2027, 7, 1))
        await asyncio.gather(feed.scan(), feed.scan(), feed.scan())
        await feed.scan()
        assert await feed.kinds() == ["return_due_soon", "return_due_tomorrow"]


class TestStaff:
    async def test_the_daily_digest_goes_to_the_schools_admins_once(self, feed: Feed) -> None:
        admin, other_admin, technician = "admin-a", "admin-b", "tech-1"
        now = feed.clock()
        await feed(
            roles_event(admin, [{"role": "institution_admin", "institution_number": SCHOOL}], now),
            roles_event(
                other_admin,
                [{"role": "institution_admin", "institution_number": OTHER_SCHOOL}],
                now,
            ),
            roles_event(technician, [{"role": "technician", "municipality_code": RIGA}], now),
        )
        first, second, third = (str(uuid.uuid4()) for _ in range(3))
        await feed(
            reservation_event("requested", first),
            reservation_event("requested", second),
            reservation_event("requested", third, institution_number=OTHER_SCHOOL),
            reservation_event("approved", third, institution_number=OTHER_SCHOOL),
        )
        assert (await feed.scan(at(2026, 10, 6, 4, 59)))["digest_notices"] == 0  # 07:59
        assert (await feed.scan(at(2026, 10, 6, 5, 0)))["digest_notices"] == 1
        assert (await feed.scan())["digest_notices"] == 0
        [digest] = await feed.notices(admin)
        assert digest.kind == "approvals_waiting"
        assert digest.cause == f"approvals_waiting:{SCHOOL}:2026-10-06"
        assert digest.params["count"] == 2
        assert digest.link == f"/schools/{SCHOOL}/approvals"
        assert await feed.notices(other_admin) == []
        assert await feed.notices(technician) == []

    async def test_an_sla_at_risk_reaches_the_assignee_once(self, feed: Feed) -> None:
        ticket = str(uuid.uuid4())
        await feed(ticket_event("opened", ticket, assignee_id="tech-1"))
        assert await feed.planned(ticket) == [
            ("sla_at_risk", at(2026, 10, 5, 11)),
            ("sla_at_risk", at(2026, 10, 8, 11)),
        ]
        await feed.scan(at(2026, 10, 5, 10, 59))
        assert await feed.kinds("tech-1") == []
        await feed.scan(at(2026, 10, 5, 11))
        await feed.scan()
        [notice] = await feed.notices("tech-1")
        assert notice.params["clock"] == "response"
        assert notice.link == f"/support/tickets/{ticket}"
        answered = ticket_event(
            "acknowledged",
            ticket,
            assignee_id="tech-1",
            first_response_at="2026-10-05T12:00:00Z",
        )
        await feed(answered)
        assert await feed.planned(ticket) == [("sla_at_risk", at(2026, 10, 8, 11))]
        assert await feed.kinds() == ["ticket_acknowledged"]

    async def test_a_reassigned_ticket_warns_its_new_assignee(self, feed: Feed) -> None:
        ticket = str(uuid.uuid4())
        await feed(ticket_event("opened", ticket, assignee_id="tech-1"))
        await feed(ticket_event("assigned", ticket, assignee_id="tech-2"))
        await feed.scan(at(2026, 10, 5, 11))
        assert await feed.kinds("tech-1") == []
        assert await feed.kinds("tech-2") == ["sla_at_risk"]

    async def test_unassigned_tickets_reach_the_municipalitys_technicians(self, feed: Feed) -> None:
        now = feed.clock()
        for person in ("tech-1", "tech-2"):
            roles = [{"role": "technician", "municipality_code": RIGA}]
            await feed(roles_event(person, roles, now))
        await feed(roles_event("tech-3", [{"role": "technician", "municipality_code": "X"}], now))
        ticket = str(uuid.uuid4())
        breach = {"clock": "response", "due_at": "2026-10-05T15:00:00Z"}
        await feed(ticket_event("sla_breached", ticket, **breach))
        for person in ("tech-1", "tech-2"):
            assert await feed.kinds(person) == ["sla_breached"]
        assert await feed.kinds("tech-3") == []

    async def test_a_public_comment_reaches_the_reporter_unless_they_wrote_it(
        self, feed: Feed
    ) -> None:
        ticket = str(uuid.uuid4())
        own = ticket_event("commented", ticket, author_id=GUARDIAN, by_staff=False)
        staff = ticket_event("commented", ticket, author_id="tech-1", by_staff=True)
        await feed(own, staff, ticket_event("resolved", ticket))
        assert await feed.kinds() == ["ticket_commented", "ticket_resolved"]
