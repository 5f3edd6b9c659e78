"""Planning's allocation rounds in statistics: allocated per school from `allocation.published`,
changed by `adjusted` / `moved`, ordered from `order_recorded`, delivered from the inventory's
devices carrying the round's order reference; exact under redelivery and any order; tenancy."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.events import CloudEvent
from shared_kit.events.consumer import Delivery
from shared_kit.testing.http import bearer, problem
from shared_kit.testing.kafka import eventually
from statistics_service.config import StatisticsSettings
from statistics_service.consumers import apply_deliveries
from statistics_service.rebuild import rebuild

from .conftest import (
    API,
    RIGA,
    SCHOOL_1,
    SCHOOL_2,
    VALMIERA,
    VALMIERA_SCHOOL,
    Producers,
    Tokens,
    checked,
)
from .test_consumers import live_consumer, publish_all

Sessions = async_sessionmaker[AsyncSession]
ROUND = str(uuid.uuid4())
ORDER = "ANM-2026/IKT-17"
AT = dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)


def line(municipality: str, school: str, allocated: int) -> dict[str, Any]:
    """A school's number as planning sends it."""
    return {"municipality_code": municipality, "institution_number": school, "allocated": allocated}


def planning_event(kind: str, data: dict[str, Any], at: dt.datetime = AT) -> CloudEvent:
    """An allocation event as planning publishes it (checked against its contract)."""
    return checked(
        CloudEvent(
            type=f"lv.datori.planning.allocation.{kind}.v1",
            source="/datori/planning",
            subject=data["round_id"],
            data=data,
            time=at,
        )
    )


def published(version: int = 3, *lines: dict[str, Any]) -> CloudEvent:
    """`allocation.published` with these lines (default: 10, 6 and 4 devices)."""
    lines = lines or (
        line(RIGA, SCHOOL_1, 10),
        line(RIGA, SCHOOL_2, 6),
        line(VALMIERA, VALMIERA_SCHOOL, 4),
    )
    return planning_event(
        "published",
        {
            "round_id": ROUND,
            "title": "ANM 2026: laptops",
            "funding_programme": "ANM",
            "order_reference": ORDER,
            "devices": 20,
            "state": "published",
            "version": version,
            "published_at": AT.isoformat(),
            "lines": list(lines),
        },
    )


def changed(kind: str, version: int, source: dict[str, Any], target: dict[str, Any]) -> CloudEvent:
    """`allocation.adjusted` / `allocation.moved`: both schools' numbers after the change."""
    return planning_event(
        kind,
        {
            "round_id": ROUND,
            "order_reference": ORDER,
            "quantity": 2,
            "source": source,
            "target": target,
            "at": AT.isoformat(),
            "version": version,
        },
    )


def ordered(school: str, count: int, at: dt.datetime, municipality: str = RIGA) -> CloudEvent:
    """`allocation.order_recorded` for a school."""
    data = {
        "round_id": ROUND,
        "order_reference": ORDER,
        "municipality_code": municipality,
        "institution_number": school,
        "ordered": count,
        "at": at.isoformat(),
    }
    return planning_event("order_recorded", data, at)


class Consumer:
    """Applies events through the consumer's batch handler, as the runner does (no inbox: a
    redelivery under a new id must change nothing either)."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def deliver(self, *events: CloudEvent) -> None:
        """One transaction per call."""
        async with self.sessions() as session, session.begin():
            deliveries = [Delivery("test", 0, i, evt) for i, evt in enumerate(events)]
            await apply_deliveries(session, deliveries)


@pytest.fixture
def consumer(sessions: Sessions) -> Consumer:
    """The statistics consumer's batch path."""
    return Consumer(sessions)


async def view(client: httpx.AsyncClient, token: str, **params: str) -> dict[str, Any]:
    """The round's view as a caller sees it."""
    r = await client.get(f"{API}/allocations/{ROUND}", params=params, headers=bearer(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


def schools_of(body: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """School → (allocated, ordered, delivered)."""
    return {
        s["institution_number"]: (s["allocated"], s["ordered"], s["delivered"])
        for s in body["institutions"] or []
    }


def delivered_devices(p: Producers, count: int, **fields: Any) -> list[CloudEvent]:
    """Devices registered with the round's order reference."""
    return [p.device(order_reference=ORDER, **fields) for _ in range(count)]


class TestAllocated:
    async def test_published_then_moved_and_adjusted(
        self, client: httpx.AsyncClient, tokens: Tokens, consumer: Consumer
    ) -> None:
        await consumer.deliver(published())
        body = await view(client, tokens.programme, municipality=RIGA)
        assert schools_of(body) == {SCHOOL_1: (10, 0, 0), SCHOOL_2: (6, 0, 0)}
        assert body["order_reference"] == ORDER and body["funding_programme"] == "ANM"
        national = await view(client, tokens.analyst)
        assert national["totals"] == {"allocated": 20, "ordered": 0, "delivered": 0}
        assert national["institutions"] is None
        assert [(m["municipality_code"], m["allocated"]) for m in national["municipalities"]] == [
            (RIGA, 16),
            (VALMIERA, 4),
        ]

        await consumer.deliver(
            changed("moved", 4, line(RIGA, SCHOOL_1, 8), line(RIGA, SCHOOL_2, 8))
        )
        await consumer.deliver(
            changed("adjusted", 5, line(RIGA, SCHOOL_2, 5), line(VALMIERA, VALMIERA_SCHOOL, 7))
        )
        body = await view(client, tokens.programme, municipality=RIGA)
        assert schools_of(body) == {SCHOOL_1: (8, 0, 0), SCHOOL_2: (5, 0, 0)}
        assert (await view(client, tokens.analyst))["totals"]["allocated"] == 20

    async def test_redelivered_and_late_events_change_nothing(
        self, client: httpx.AsyncClient, tokens: Tokens, consumer: Consumer
    ) -> None:
        move = changed("moved", 4, line(RIGA, SCHOOL_1, 8), line(RIGA, SCHOOL_2, 8))
        later = ordered(SCHOOL_1, 8, AT.replace(hour=9))
        events = [published(), move, ordered(SCHOOL_1, 5, AT), later]
        random.Random(7).shuffle(events)
        await consumer.deliver(move)  # the move arrives first: the publication must not undo it
        await consumer.deliver(*events, *reversed(events))
        await consumer.deliver(ordered(SCHOOL_1, 5, AT), published())  # late repeats
        body = await view(client, tokens.riga, municipality=RIGA)
        assert schools_of(body) == {SCHOOL_1: (8, 8, 0), SCHOOL_2: (8, 0, 0)}

    async def test_a_republication_leaves_out_schools_with_none(
        self, client: httpx.AsyncClient, tokens: Tokens, consumer: Consumer
    ) -> None:
        await consumer.deliver(
            changed("adjusted", 2, line(RIGA, SCHOOL_1, 12), line(RIGA, SCHOOL_2, 3))
        )
        await consumer.deliver(published(3, line(RIGA, SCHOOL_1, 20)))
        body = await view(client, tokens.riga, municipality=RIGA)
        assert schools_of(body) == {SCHOOL_1: (20, 0, 0), SCHOOL_2: (0, 0, 0)}


class TestDelivered:
    async def test_devices_with_the_order_reference_count_at_their_school(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        consumer: Consumer,
    ) -> None:
        p = Producers()
        events = [published(), ordered(SCHOOL_1, 10, AT)]
        events += delivered_devices(p, 3)  # at school 1
        events += delivered_devices(p, 2, institution=SCHOOL_2)
        events += [p.device(), p.device(order_reference="ANM-2025/OTHER")]  # not this round's
        await consumer.deliver(*events)
        moved_away, written_off, *_ = p.devices
        await consumer.deliver(
            p.device(moved_away, institution=SCHOOL_2),
            p.device(written_off, status="written_off"),
        )
        await consumer.deliver(p.device_event("updated", p.devices[written_off]))  # repeat
        body = await view(client, tokens.riga, municipality=RIGA)
        assert schools_of(body) == {SCHOOL_1: (10, 10, 2), SCHOOL_2: (6, 0, 3)}
        rounds = await client.get(f"{API}/allocations", headers=bearer(tokens.programme))
        assert rounds.status_code == 200, rounds.text
        [item] = rounds.json()["items"]
        assert (item["round_id"], item["devices"]) == (ROUND, 20)
        assert item["totals"] == {"allocated": 20, "ordered": 10, "delivered": 5}

    async def test_the_rebuild_rebuilds_allocations_and_deliveries(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        sessions: Sessions,
        settings: StatisticsSettings,
    ) -> None:
        p = Producers()
        move = changed("moved", 4, line(RIGA, SCHOOL_1, 8), line(RIGA, SCHOOL_2, 8))
        events = [published(), move, ordered(SCHOOL_2, 4, AT), *delivered_devices(p, 3)]
        await publish_all(settings, events)
        async with live_consumer(sessions, settings):

            async def counted() -> bool:
                r = await client.get(
                    f"{API}/allocations/{ROUND}",
                    params={"municipality": RIGA},
                    headers=bearer(tokens.riga),
                )
                expected = {SCHOOL_1: (8, 0, 3), SCHOOL_2: (8, 4, 0)}
                return r.status_code == 200 and schools_of(r.json()) == expected

            await eventually(counted, timeout_s=40)
        before = await view(client, tokens.analyst, municipality=RIGA)
        async with sessions() as session, session.begin():
            await session.execute(text("DELETE FROM allocation_line"))  # lost: the rebuild restores
        await rebuild(settings, sessions=sessions)
        assert await view(client, tokens.analyst, municipality=RIGA) == before


class TestTenancy:
    @pytest.fixture(autouse=True)
    async def _published(self, consumer: Consumer) -> None:
        p = Producers()
        await consumer.deliver(published(), *delivered_devices(p, 1))

    async def test_a_municipality_sees_its_own(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        own = await view(client, tokens.riga)
        assert [m["municipality_code"] for m in own["municipalities"]] == [RIGA]
        assert own["totals"]["allocated"] == 16
        problem(
            await client.get(
                f"{API}/allocations/{ROUND}",
                params={"municipality": VALMIERA},
                headers=bearer(tokens.riga),
            ),
            403,
            "tenant-forbidden",
        )
        rounds = await client.get(f"{API}/allocations", headers=bearer(tokens.valmiera))
        assert rounds.json()["items"][0]["totals"]["allocated"] == 4

    async def test_a_school_sees_its_own_line(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        own = await view(client, tokens.school_1)
        assert schools_of(own) == {SCHOOL_1: (10, 0, 1)}
        assert own["totals"] == {"allocated": 10, "ordered": 0, "delivered": 1}

    async def test_families_are_refused_and_unknown_rounds_are_404(
        self, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        for path in ("/allocations", f"/allocations/{ROUND}"):
            r = await client.get(f"{API}{path}", headers=bearer(tokens.guardian))
            assert r.status_code == 403, r.text
        r = await client.get(f"{API}/allocations/{uuid.uuid4()}", headers=bearer(tokens.analyst))
        problem(r, 404, "allocation-round-not-found")
        bad = await client.get(f"{API}/allocations/not-a-uuid", headers=bearer(tokens.analyst))
        assert bad.status_code == 422
