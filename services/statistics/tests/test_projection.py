"""The projection equals a recomputation from the same events: in order, shuffled, duplicated,
in any batch sizes; and the rules of what counts where."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared_kit.events import CloudEvent
from statistics_service.consumers import criteria_of, levels_mask, to_fact
from statistics_service.facts import TicketFact
from statistics_service.service.projection import apply_facts

from .conftest import (
    RIGA,
    SCHOOL_2,
    Producers,
    apply_in_batches,
    random_history,
    recompute,
    shuffled_with_duplicates,
    sql,
    stored_counters,
)

Sessions = async_sessionmaker[AsyncSession]


class TestEqualsRecomputation:
    @pytest.mark.parametrize("seed", [1, 2])
    async def test_in_production_order(
        self, sessions: Sessions, engine: AsyncEngine, seed: int
    ) -> None:
        events = random_history(seed)
        await apply_in_batches(sessions, events, seed)
        assert await stored_counters(engine) == recompute(events)

    @pytest.mark.parametrize("seed", [3, 4, 5])
    async def test_shuffled_with_duplicates(
        self, sessions: Sessions, engine: AsyncEngine, seed: int
    ) -> None:
        events = random_history(seed)
        delivered = shuffled_with_duplicates(events, seed)
        await apply_in_batches(sessions, delivered, seed)
        expected = recompute(events)
        assert await stored_counters(engine) == expected
        assert expected["device_count"] and expected["loan_count"]  # the history is not trivial

    async def test_one_batch_with_everything_twice(
        self, sessions: Sessions, engine: AsyncEngine
    ) -> None:
        events = random_history(6)
        facts = [f for e in events + events[::-1] if (f := to_fact(e)) is not None]
        async with sessions() as session, session.begin():
            await apply_facts(session, facts)
        assert await stored_counters(engine) == recompute(events)

    async def test_replaying_everything_again_changes_nothing(
        self, sessions: Sessions, engine: AsyncEngine
    ) -> None:
        events = random_history(7)
        await apply_in_batches(sessions, events, 7)
        before = await stored_counters(engine)
        await apply_in_batches(sessions, events, 8)
        assert await stored_counters(engine) == before == recompute(events)


async def _apply(sessions: Sessions, *events: CloudEvent) -> None:
    facts = [f for e in events if (f := to_fact(e)) is not None]
    async with sessions() as session, session.begin():
        await apply_facts(session, facts)


class TestRules:
    async def test_an_older_snapshot_arriving_late_is_ignored(
        self, sessions: Sessions, engine: AsyncEngine
    ) -> None:
        p = Producers()
        device = str(uuid.uuid4())
        v1 = p.device(device)
        v2 = p.device(device, status="lost")
        await _apply(sessions, v2)
        await _apply(sessions, v1)
        rows = await sql(engine, "SELECT status, n FROM device_count WHERE n <> 0")
        assert [(r.status, r.n) for r in rows] == [("lost", 1)]
        assert not await sql(engine, "SELECT * FROM device_band_count WHERE n <> 0")

    async def test_a_device_moving_school_moves_its_count(
        self, sessions: Sessions, engine: AsyncEngine
    ) -> None:
        p = Producers()
        device = str(uuid.uuid4())
        await _apply(sessions, p.device(device), p.device(device, institution=SCHOOL_2))
        rows = await sql(engine, "SELECT institution_number, n FROM device_count WHERE n <> 0")
        assert [(r.institution_number, r.n) for r in rows] == [(SCHOOL_2, 1)]

    async def test_criteria_arriving_after_the_contract_are_counted(
        self, sessions: Sessions, engine: AsyncEngine
    ) -> None:
        p = Producers()
        reservation, contract = str(uuid.uuid4()), str(uuid.uuid4())
        requested = p.reservation(reservation, priority=40, criteria=["low_income"])
        activated = p.contract(contract, "activated", reservation)
        await _apply(sessions, activated)  # the reservation is not known yet
        assert not await sql(engine, "SELECT * FROM loan_criterion_count WHERE n <> 0")
        await _apply(sessions, requested)
        rows = await sql(engine, "SELECT criterion, n FROM loan_criterion_count WHERE n <> 0")
        assert sorted((r.criterion, r.n) for r in rows) == [("any", 1), ("low_income", 1)]
        await _apply(sessions, p.contract(contract, "returned", reservation))
        assert not await sql(engine, "SELECT * FROM loan_criterion_count WHERE n <> 0")

    async def test_priority_without_named_criteria_counts_as_any(
        self, sessions: Sessions, engine: AsyncEngine
    ) -> None:
        p = Producers()
        reservation, contract = str(uuid.uuid4()), str(uuid.uuid4())
        await _apply(
            sessions,
            p.reservation(reservation, priority=20),  # today's payload: a score, no criteria
            p.contract(contract, "activated", reservation),
        )
        rows = await sql(engine, "SELECT criterion, n FROM loan_criterion_count WHERE n <> 0")
        assert [(r.criterion, r.n) for r in rows] == [("any", 1)]
        prioritised = await sql(engine, "SELECT prioritised FROM reservation_count WHERE n <> 0")
        assert [r.prioritised for r in prioritised] == [True]

    async def test_an_event_id_twice_in_one_batch_counts_once(
        self, sessions: Sessions, engine: AsyncEngine
    ) -> None:
        evt = Producers().device()
        await _apply(sessions, evt, evt)
        assert [r.n for r in await sql(engine, "SELECT n FROM device_count")] == [1]

    async def test_overdue_and_tickets(self, sessions: Sessions, engine: AsyncEngine) -> None:
        p = Producers()
        reservation, contract, ticket = (str(uuid.uuid4()) for _ in range(3))
        opened = dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)
        await _apply(
            sessions,
            p.contract(contract, "activated", reservation),
            p.contract(contract, "overdue", reservation),
            p.ticket(ticket, opened_at=opened),
            p.ticket(ticket, "sla_breached", state="in_progress", opened_at=opened),
            p.ticket(
                ticket,
                "resolved",
                state="resolved",
                opened_at=opened,
                resolved_at=opened + dt.timedelta(hours=30),
            ),
        )
        loans = await sql(engine, "SELECT state, overdue, n FROM loan_count WHERE n <> 0")
        assert [(r.state, r.overdue, r.n) for r in loans] == [("active", True, 1)]
        tickets = await sql(engine, "SELECT * FROM ticket_count WHERE n <> 0")
        assert [(t.is_open, t.sla_breached, t.n, t.timed, t.resolve_seconds) for t in tickets] == [
            (False, True, 1, 1, 30 * 3600)
        ]

    async def test_institutions_met_in_events_are_remembered(
        self, sessions: Sessions, engine: AsyncEngine
    ) -> None:
        await _apply(sessions, Producers().device(institution=SCHOOL_2))
        rows = await sql(engine, "SELECT registration_number, municipality_code FROM institution")
        assert [(r.registration_number, r.municipality_code) for r in rows] == [(SCHOOL_2, RIGA)]


class TestParsing:
    @pytest.mark.parametrize(
        ("levels", "grades"),
        [
            (None, []),
            ([], []),
            (["grades 1-3"], [1, 2, 3]),
            (["1.\u20134. klase"], [1, 2, 3, 4]),  # with an en dash
            (["5", "grades 10-12"], [5, 10, 11, 12]),
            (["preschool"], []),
            (["0-14"], list(range(1, 13))),
            # Arabic-Indic, fullwidth and Devanagari digits name no grade
            (["grades \u0661-\u0663", "\uff11-\uff13", "\u096b"], []),
            (["grades 1-\u0663"], [1]),
        ],
    )
    def test_school_levels(self, levels: list[str] | None, grades: list[int]) -> None:
        assert levels_mask(levels) == sum(1 << g for g in grades)

    def test_criteria_as_names_or_claims(self) -> None:
        assert criteria_of(["low_income", {"criterion": "single_parent"}, "x y", {}]) == [
            "low_income",
            "single_parent",
        ]

    def test_device_effects_of_tickets_are_not_counted(self) -> None:
        evt = dataclasses.replace(
            Producers().ticket(str(uuid.uuid4())),
            type="lv.datori.tickets.repair.started.v1",
        )
        assert to_fact(evt) is None

    @pytest.mark.parametrize("state", ["in_progress", "in_repair", "waiting_for_parts"])
    def test_a_ticket_worked_on_or_with_its_device_in_repair_is_open(self, state: str) -> None:
        fact = to_fact(Producers().ticket(str(uuid.uuid4()), "reopened", state=state))
        assert isinstance(fact, TicketFact) and fact.is_open

    async def test_a_breach_stays_whatever_the_order(
        self, sessions: Sessions, engine: AsyncEngine
    ) -> None:
        p = Producers()
        ticket = str(uuid.uuid4())
        opened = p.ticket(ticket)
        breached = p.ticket(ticket, "sla_breached", state="in_progress")
        resolved = p.ticket(ticket, "resolved", state="resolved", resolved_at=p.time)
        reopened = p.ticket(ticket, "reopened", state="in_progress")
        await _apply(sessions, reopened, opened)
        await _apply(sessions, resolved)
        await _apply(sessions, breached)  # late, older than what is stored: still counts
        rows = await sql(engine, "SELECT is_open, sla_breached, n FROM ticket_count WHERE n <> 0")
        assert [(r.is_open, r.sla_breached, r.n) for r in rows] == [(True, True, 1)]
