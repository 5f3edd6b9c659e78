"""SLA arithmetic with an injectable clock: the pure clock functions (pause, resume, stop,
reopen, breach), then through the API and the SLA job (flagged once, published once)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from shared_kit.testing.http import bearer, problem
from tickets_service.models import Severity
from tickets_service.service import sla
from tickets_service.service.sla import DEFAULT_TARGETS, ClockName, ClockState

from .conftest import API, RIGA, START, World

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
NORMAL = DEFAULT_TARGETS[Severity.NORMAL]  # 2 days / 10 days


@dataclass
class Clocks:
    """The clock columns of a ticket, without a database."""

    opened_at: dt.datetime = START
    response_target_minutes: int = 0
    resolution_target_minutes: int = 0
    first_response_at: dt.datetime | None = None
    response_due_at: dt.datetime = START
    response_breached_at: dt.datetime | None = None
    paused_total: dt.timedelta = field(default_factory=dt.timedelta)
    paused_since: dt.datetime | None = None
    resolution_due_at: dt.datetime | None = None
    resolution_breached_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None


def opened(targets: tuple[int, int] = NORMAL) -> Clocks:
    clocks = Clocks()
    sla.start(clocks, START, targets)
    return clocks


class TestDefaults:
    def test_default_targets_grow_with_lower_severity(self) -> None:
        assert DEFAULT_TARGETS[Severity.CRITICAL] == (4 * 60, 2 * 24 * 60)
        assert DEFAULT_TARGETS[Severity.HIGH] == (24 * 60, 5 * 24 * 60)
        assert DEFAULT_TARGETS[Severity.NORMAL] == (2 * 24 * 60, 10 * 24 * 60)
        assert DEFAULT_TARGETS[Severity.LOW] == (5 * 24 * 60, 20 * 24 * 60)
        ordered = [DEFAULT_TARGETS[s] for s in Severity]
        assert ordered == sorted(ordered)


class TestResponseClock:
    def test_runs_until_the_first_response_then_stands_still(self) -> None:
        clocks = opened()
        view = sla.response_view(clocks, START + 5 * H)
        assert (view.elapsed, view.remaining, view.state) == (5 * H, 43 * H, ClockState.RUNNING)
        assert view.due_at == START + 2 * D and not view.breached
        assert sla.respond(clocks, START + 6 * H) is False
        assert sla.respond(clocks, START + 9 * H) is False  # only the first counts
        later = sla.response_view(clocks, START + 30 * D)
        assert (later.elapsed, later.state, later.breached) == (6 * H, ClockState.STOPPED, False)

    def test_a_late_response_flags_the_breach_at_the_deadline(self) -> None:
        clocks = opened()
        assert sla.due_breaches(clocks, START + 2 * D) == []  # exactly on time is on time
        assert sla.due_breaches(clocks, START + 2 * D + dt.timedelta(seconds=1)) == [
            ClockName.RESPONSE
        ]
        assert sla.respond(clocks, START + 3 * D) is True
        assert clocks.response_breached_at == START + 2 * D
        view = sla.response_view(clocks, START + 4 * D)
        assert view.breached and view.remaining == -D


class TestResolutionClock:
    def test_waiting_for_the_reporter_pauses_and_moves_the_deadline(self) -> None:
        clocks = opened()
        sla.pause(clocks, START + 1 * D)
        paused = sla.resolution_view(clocks, START + 2 * D)
        assert paused.state is ClockState.PAUSED and paused.due_at is None
        assert (paused.elapsed, paused.paused) == (1 * D, 1 * D)
        sla.pause(clocks, START + 2 * D)  # pausing twice keeps the first start
        sla.resume(clocks, START + 3 * D)
        assert clocks.resolution_due_at == START + 12 * D
        running = sla.resolution_view(clocks, START + 4 * D)
        assert running.state is ClockState.RUNNING
        assert (running.elapsed, running.remaining, running.paused) == (2 * D, 8 * D, 2 * D)
        sla.resume(clocks, START + 5 * D)  # not paused: nothing changes
        assert clocks.paused_total == 2 * D

    def test_a_paused_clock_does_not_breach(self) -> None:
        clocks = opened()
        sla.respond(clocks, START + H)
        sla.pause(clocks, START + 9 * D)
        assert sla.due_breaches(clocks, START + 40 * D) == []
        sla.resume(clocks, START + 40 * D)  # 31 days paused: due at day 41
        assert sla.due_breaches(clocks, START + 41 * D) == []
        assert sla.due_breaches(clocks, START + 41 * D + H) == [ClockName.RESOLUTION]
        assert sla.flag(clocks, ClockName.RESOLUTION) == START + 41 * D
        assert sla.due_breaches(clocks, START + 50 * D) == []  # flagged once
        assert sla.stop(clocks, START + 50 * D) is False  # already flagged: no second event
        view = sla.resolution_view(clocks, START + 60 * D)
        assert view.breached and view.state is ClockState.STOPPED
        assert view.elapsed == 19 * D and view.remaining == -9 * D

    def test_resolving_late_flags_and_reopening_counts_the_gap_as_paused(self) -> None:
        clocks = opened()
        assert sla.stop(clocks, START + 4 * D) is False
        assert clocks.resolution_due_at is None
        assert sla.resolution_view(clocks, START + 6 * D).elapsed == 4 * D
        sla.restart(clocks, START + 6 * D)
        assert clocks.paused_total == 2 * D and clocks.resolution_due_at == START + 12 * D
        assert sla.stop(clocks, START + 13 * D) is True
        assert clocks.resolution_breached_at == START + 12 * D

    def test_retargeting_moves_both_deadlines(self) -> None:
        clocks = opened()
        sla.pause(clocks, START + D)
        sla.resume(clocks, START + 2 * D)
        sla.retarget(clocks, DEFAULT_TARGETS[Severity.CRITICAL])
        assert clocks.response_due_at == START + 4 * H
        assert clocks.resolution_due_at == START + 3 * D  # 2 days + 1 day paused


class TestThroughTheApi:
    async def test_breaches_are_flagged_once_and_published(self, world: World) -> None:
        device = await world.device(status="available")
        ticket = await world.report(world.tokens.school_a, device, severity="critical")
        world.clock.advance(hours=5)
        view = await world.sla(ticket["id"])
        assert view["response"]["breached"] is True and view["response"]["breached_at"] is None
        assert view["response"]["remaining_seconds"] == -3600

        assert await world.run_sla_job() == {
            "sla_response_breached": 1,
            "sla_resolution_breached": 0,
        }
        assert await world.run_sla_job() == {
            "sla_response_breached": 0,
            "sla_resolution_breached": 0,
        }
        flagged = await world.get(ticket["id"])
        assert flagged["sla"]["response_breached"] is True
        assert flagged["version"] == ticket["version"]  # bookkeeping: the ETag stays

        await world.move(ticket, "in_progress")
        world.clock.advance(days=2)
        await world.run_sla_job()
        rows = [r for r in await world.outbox() if r.event_type.endswith("sla_breached.v1")]
        breaches = [json.loads(r.payload) for r in rows]
        assert [(b["clock"], b["due_at"]) for b in breaches] == [
            ("response", "2026-10-05T11:00:00Z"),
            ("resolution", "2026-10-07T07:00:00Z"),
        ]
        assert breaches[0]["detected_at"] == "2026-10-05T12:00:00Z"
        assert all(r.key == ticket["id"] for r in rows)

        r = await world.client.get(
            f"{API}/queues/{RIGA}/summary", headers=bearer(world.tokens.technician)
        )
        summary = r.json()
        assert summary["open_response_breached"] == 1
        assert summary["open_resolution_breached"] == 1
        r = await world.client.get(
            API, params={"breached": "true"}, headers=bearer(world.tokens.riga)
        )
        assert [t["id"] for t in r.json()["items"]] == [ticket["id"]]

    async def test_waiting_for_the_reporter_stops_the_clock_until_they_answer(
        self, world: World
    ) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device, severity="critical")
        world.clock.advance(hours=1)
        await world.move(ticket, "acknowledged")
        world.clock.advance(hours=1)
        await world.move(ticket, "waiting_for_reporter", note="Which key?")
        world.clock.advance(days=3)
        view = await world.sla(ticket["id"])
        assert view["resolution"]["state"] == "paused"
        assert view["resolution"]["elapsed_seconds"] == 2 * 3600
        assert view["resolution"]["paused_seconds"] == 3 * 86400
        assert view["response"]["state"] == "stopped"
        assert view["response"]["elapsed_seconds"] == 3600
        assert (await world.run_sla_job())["sla_resolution_breached"] == 0

        r = await world.client.post(
            f"{API}/{ticket['id']}/comments",
            json={"body": "The Enter key"},
            headers=bearer(world.tokens.guardian),
        )
        assert r.status_code == 201, r.text
        answered = await world.get(ticket["id"])
        assert answered["state"] == "acknowledged"
        assert answered["sla"]["resolution_due_at"] == "2026-10-10T07:00:00Z"  # 2 days + 3 paused
        world.clock.advance(days=2)
        assert (await world.run_sla_job())["sla_resolution_breached"] == 1

    async def test_support_comment_is_the_first_response(self, world: World) -> None:
        device = await world.device(status="available")
        ticket = await world.report(world.tokens.school_a, device, severity="high")
        world.clock.advance(hours=2)
        r = await world.client.post(
            f"{API}/{ticket['id']}/comments",
            json={"body": "internal only", "visibility": "internal"},
            headers=bearer(world.tokens.technician),
        )
        assert r.status_code == 201
        assert (await world.get(ticket["id"]))["first_response_at"] is None
        r = await world.client.post(
            f"{API}/{ticket['id']}/comments",
            json={"body": "Looking into it"},
            headers=bearer(world.tokens.technician),
        )
        after = await world.get(ticket["id"])
        assert after["first_response_at"] == "2026-10-05T09:00:00Z" and after["state"] == "new"


class TestPolicies:
    async def test_municipal_targets_apply_to_new_tickets(self, world: World) -> None:
        url = f"{API}/sla-policies/{RIGA}"
        r = await world.client.get(url, headers=bearer(world.tokens.technician))
        assert [(p["severity"], p["version"]) for p in r.json()] == [
            ("critical", 0),
            ("high", 0),
            ("normal", 0),
            ("low", 0),
        ]
        body = {"response_minutes": 60, "resolution_minutes": 600}
        r = await world.client.put(f"{url}/high", json=body, headers=bearer(world.tokens.riga))
        assert r.status_code == 200 and r.headers["ETag"] == '"1"'
        r = await world.client.put(
            f"{url}/high", json=body, headers={**bearer(world.tokens.riga), "If-Match": '"0"'}
        )
        problem(r, 412, "precondition-failed")
        problem(
            await world.client.put(f"{url}/high", json=body, headers=bearer(world.tokens.valmiera)),
            403,
            "tenant-forbidden",
        )
        problem(
            await world.client.put(
                f"{url}/high", json=body, headers=bearer(world.tokens.technician)
            ),
            403,
            "forbidden",
        )
        problem(
            await world.client.put(
                f"{url}/high",
                json={"response_minutes": 600, "resolution_minutes": 60},
                headers=bearer(world.tokens.riga),
            ),
            422,
            "validation",
        )
        device = await world.device(status="available")
        ticket = await world.report(world.tokens.school_a, device, severity="high")
        view = await world.sla(ticket["id"])
        assert view["response"]["target_minutes"] == 60
        assert view["resolution"]["target_minutes"] == 600
        assert ticket["sla"]["response_due_at"] == "2026-10-05T08:00:00Z"
