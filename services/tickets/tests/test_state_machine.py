"""The ticket state machine: the transition table, the moves through the API with their effects
(repair events, first response, reopen), and who may make which move."""

from __future__ import annotations

import pytest

from shared_kit.testing.http import bearer, problem
from tickets_service.models import TicketState
from tickets_service.service.workflow import REPORTER_MOVES, TRANSITIONS

from .conftest import API, World

S = TicketState


class TestTable:
    def test_every_state_has_an_entry_and_done_states_only_close_or_reopen(self) -> None:
        assert set(TRANSITIONS) == set(TicketState)
        assert TRANSITIONS[S.RESOLVED] == {S.CLOSED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.IN_REPAIR}
        assert TRANSITIONS[S.CLOSED] == {S.ACKNOWLEDGED, S.IN_PROGRESS, S.IN_REPAIR}
        for state, targets in TRANSITIONS.items():
            assert state not in targets  # no self-loops
            assert S.NEW not in targets  # nothing goes back to new

    def test_every_state_can_reach_closed_and_closed_can_come_back(self) -> None:
        for start in TicketState:
            seen, frontier = {start}, [start]
            while frontier:
                for nxt in TRANSITIONS[frontier.pop()]:
                    if nxt not in seen:
                        seen.add(nxt)
                        frontier.append(nxt)
            assert S.CLOSED in seen or start is S.CLOSED
            assert S.IN_PROGRESS in seen and S.IN_REPAIR in seen

    def test_reporter_moves_are_legal_moves(self) -> None:
        for before, after in REPORTER_MOVES:
            assert after in TRANSITIONS[before]


class TestRepairLifecycle:
    async def test_full_path_with_repair_events_and_reopen(self, world: World) -> None:
        device, contract = await world.lent()
        ticket = await world.report(world.tokens.guardian, device, category="does_not_start")
        assert ticket["state"] == "new" and ticket["repair"] is True
        assert ticket["learner_id"] == "learner-0001" and ticket["contract_id"] == contract

        acked = await world.move(ticket, "acknowledged")
        assert acked["first_response_at"] is not None
        await world.move(ticket, "in_progress", note="looking into it")
        assert await world.types(device) == []  # working on it is not taking it in
        taken = await world.move(ticket, "in_repair", note="to the workshop")
        assert taken["repair_started_at"] is not None
        await world.move(ticket, "waiting_for_parts")
        await world.move(ticket, "in_repair")  # the repair is still the same one
        resolved = await world.move(ticket, "resolved", resolution="motherboard replaced")
        assert resolved["resolution"] == "motherboard replaced"
        assert resolved["repair_completed_at"] is not None

        reopened = await world.move(ticket, "acknowledged", world.tokens.guardian)
        assert reopened["state"] == "acknowledged" and reopened["resolved_at"] is None
        await world.move(ticket, "in_repair")  # a second repair
        await world.move(ticket, "resolved")
        closed = await world.move(ticket, "closed", world.tokens.guardian)
        assert closed["closed_at"] is not None

        assert await world.types(ticket["id"]) == [
            "ticket.opened",
            "ticket.acknowledged",
            "ticket.resolved",
            "ticket.reopened",
            "ticket.resolved",
            "ticket.closed",
        ]
        assert await world.types(device) == [
            "repair.started",
            "repair.completed",
            "repair.started",
            "repair.completed",
        ]

    @pytest.mark.parametrize(
        "path",
        [
            ["resolved"],  # a duplicate, answered at once
            ["acknowledged", "resolved"],
            ["in_progress", "resolved"],  # looked at: no fault found
            ["acknowledged", "in_progress", "waiting_for_reporter", "resolved", "closed"],
            ["in_progress", "waiting_for_parts", "in_progress", "resolved"],
        ],
    )
    async def test_a_ticket_resolved_before_the_device_was_taken_in_never_touches_it(
        self, world: World, path: list[str]
    ) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device, category="screen")
        assert ticket["repair"] is True  # a screen will likely need the workshop, but not yet
        assert await world.types(device) == []
        for state in path:
            note = {"resolution": "no fault found"} if state == "resolved" else {}
            moved = await world.move(ticket, state, **note)
        assert moved["repair_started_at"] is None and moved["repair_completed_at"] is None
        assert await world.types(device) == []

    async def test_the_device_goes_in_straight_from_new(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device, category="keyboard")
        taken = await world.move(ticket, "in_repair")
        assert taken["state"] == "in_repair" and taken["first_response_at"] is not None
        assert await world.types(device) == ["repair.started"]
        await world.move(ticket, "resolved", resolution="keyboard replaced")
        assert await world.types(device) == ["repair.started", "repair.completed"]

    async def test_software_problem_needs_no_workshop_until_the_device_is_taken_in(
        self, world: World
    ) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device, category="software")
        assert ticket["repair"] is False
        await world.move(ticket, "in_progress")
        await world.move(ticket, "waiting_for_parts")
        flagged = await world.move(ticket, "in_progress", repair=True, severity="high")
        assert flagged["repair"] is True and flagged["severity"] == "high"
        assert await world.types(device) == []  # flagged, but still with the learner
        await world.move(ticket, "resolved")
        other = await world.report(world.tokens.guardian, device, category="software")
        taken = await world.move(other, "in_repair")  # taking it in is a repair
        assert taken["repair"] is True
        assert await world.types(device) == ["repair.started"]

    async def test_a_reporters_answer_during_a_repair_goes_back_to_the_repair(
        self, world: World
    ) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        await world.move(ticket, "in_repair")
        await world.move(ticket, "waiting_for_reporter", note="Was it dropped?")
        r = await world.client.post(
            f"{API}/{ticket['id']}/comments",
            json={"body": "No"},
            headers=bearer(world.tokens.guardian),
        )
        assert r.status_code == 201, r.text
        assert (await world.get(ticket["id"]))["state"] == "in_repair"
        assert await world.types(device) == ["repair.started"]  # the same repair

    async def test_a_lost_device_never_goes_to_the_workshop(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device, category="lost")
        for body in ({"to": "in_progress", "repair": True}, {"to": "in_repair"}):
            r = await world.client.post(
                f"{API}/{ticket['id']}/transitions",
                json=body,
                headers=bearer(world.tokens.technician),
            )
            problem(r, 409, "not-applicable")
        assert (await world.get(ticket["id"]))["state"] == "new"
        assert await world.types(device) == []

    async def test_taking_the_device_in_without_a_repair_is_422(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        r = await world.client.post(
            f"{API}/{ticket['id']}/transitions",
            json={"to": "in_repair", "repair": False},
            headers=bearer(world.tokens.technician),
        )
        problem(r, 422, "validation")
        assert await world.types(device) == []


class TestIllegalMoves:
    @pytest.mark.parametrize(
        ("path", "to"),
        [
            ([], "closed"),
            ([], "waiting_for_parts"),
            (["acknowledged"], "new"),
            (["acknowledged", "resolved", "closed"], "resolved"),
            (["in_progress", "waiting_for_parts"], "waiting_for_reporter"),
        ],
    )
    async def test_illegal_move_is_409_with_the_allowed_ones(
        self, world: World, path: list[str], to: str
    ) -> None:
        device = await world.device(status="available")
        ticket = await world.report(world.tokens.school_a, device, category="keyboard")
        for state in path:
            await world.move(ticket, state)
        r = await world.client.post(
            f"{API}/{ticket['id']}/transitions",
            json={"to": to},
            headers=bearer(world.tokens.technician),
        )
        body = problem(r, 409, "illegal-transition")
        current = path[-1] if path else "new"
        assert body["current_state"] == current
        assert set(body["allowed"]) == {s.value for s in TRANSITIONS[S(current)]}

    async def test_unknown_state_is_422(self, world: World) -> None:
        device = await world.device(status="available")
        ticket = await world.report(world.tokens.school_a, device)
        r = await world.client.post(
            f"{API}/{ticket['id']}/transitions",
            json={"to": "fixed"},
            headers=bearer(world.tokens.technician),
        )
        problem(r, 422, "validation")

    async def test_stale_if_match_is_412(self, world: World) -> None:
        device = await world.device(status="available")
        ticket = await world.report(world.tokens.school_a, device)
        await world.move(ticket, "acknowledged")
        r = await world.client.post(
            f"{API}/{ticket['id']}/transitions",
            json={"to": "in_progress"},
            headers={**bearer(world.tokens.technician), "If-Match": f'"{ticket["version"]}"'},
        )
        problem(r, 412, "precondition-failed")


class TestWhoMoves:
    async def test_reporter_answers_closes_and_reopens_but_does_not_work_the_ticket(
        self, world: World
    ) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        guardian = world.tokens.guardian
        r = await world.client.post(
            f"{API}/{ticket['id']}/transitions",
            json={"to": "acknowledged"},
            headers=bearer(guardian),
        )
        body = problem(r, 403, "action-forbidden")
        assert body["allowed"] == []
        await world.move(ticket, "waiting_for_reporter")
        await world.move(ticket, "acknowledged", guardian)  # the answer
        await world.move(ticket, "resolved")
        r = await world.client.post(
            f"{API}/{ticket['id']}/transitions",
            json={"to": "in_progress"},
            headers=bearer(guardian),
        )
        problem(r, 403, "action-forbidden")
        r = await world.client.post(
            f"{API}/{ticket['id']}/transitions",
            json={"to": "closed", "severity": "low"},
            headers=bearer(guardian),
        )
        problem(r, 403, "action-forbidden")  # re-triage is support's

    async def test_school_staff_and_other_municipalities_cannot_move(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        for token in (world.tokens.teacher_a, world.tokens.school_a):
            r = await world.client.post(
                f"{API}/{ticket['id']}/transitions",
                json={"to": "acknowledged"},
                headers=bearer(token),
            )
            problem(r, 403, "action-forbidden")
        r = await world.client.post(
            f"{API}/{ticket['id']}/transitions",
            json={"to": "acknowledged"},
            headers=bearer(world.tokens.valmiera_technician),
        )
        problem(r, 403, "tenant-forbidden")  # cannot even see it
        read_only = world.tokens.riga_reader
        r = await world.client.post(
            f"{API}/{ticket['id']}/transitions",
            json={"to": "acknowledged"},
            headers=bearer(read_only),
        )
        problem(r, 403, "forbidden")  # a machine client without tickets:write

    async def test_machine_client_works_its_municipalitys_queue(self, world: World) -> None:
        device = await world.device(status="available")
        ticket = await world.report(world.tokens.riga_client, device, category="other")
        assert ticket["reporter_kind"] == "support" and ticket["reporter_id"] == "riga-platform"
        moved = await world.move(ticket, "in_progress", world.tokens.riga_client)
        assert moved["state"] == "in_progress"
