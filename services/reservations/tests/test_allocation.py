"""Allocation through the service: waitlist order, promotion on release, devices leaving
service, expiry with a moved clock, loans ending, staff approval, availability."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reservations_service.config import ReservationsSettings
from reservations_service.exceptions import DeviceTaken
from reservations_service.main import expiry_job
from reservations_service.service import lifecycle
from shared_kit.housekeeping import purge_once
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer, problem

from .conftest import (
    API,
    CHILD,
    OVERLAPS,
    RIGA,
    SCHOOL_A,
    SCHOOL_B,
    Inventory,
    Tokens,
    reserve,
    sql,
)

# n more devices like the available one in the read model (a bulk delivery, one statement).
COPIES = """
    INSERT INTO device (id, inventory_version, municipality_code, institution_number,
                        catalogue_item_code, category, os, screen_inches, touch, status)
    SELECT gen_random_uuid(), 1, municipality_code, institution_number, catalogue_item_code,
           category, os, screen_inches, touch, status
    FROM (SELECT * FROM device WHERE status = 'available' LIMIT 1) AS available,
         generate_series(1, :n)
"""
LOW_INCOME = [{"criterion": "low_income", "source": "welfare_data"}]
DECLARED_SINGLE = [{"criterion": "single_parent", "source": "declared"}]


async def state_of(
    client: httpx.AsyncClient, tokens: Tokens, reservation_id: str
) -> dict[str, Any]:
    """A reservation as the platform admin sees it."""
    r = await client.get(f"{API}/{reservation_id}", headers=bearer(tokens.platform))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def event_types(engine: AsyncEngine, reservation_id: str) -> list[str]:
    """Short names of a reservation's events, in outbox order."""
    rows = await sql(
        engine,
        "SELECT event_type FROM outbox_message WHERE key = :key ORDER BY seq",
        key=reservation_id,
    )
    return [r.event_type.split(".")[-2] for r in rows]


async def outbox_payload(engine: AsyncEngine, reservation_id: str, kind: str) -> dict[str, Any]:
    """The data of a reservation's last event of one kind."""
    rows = await sql(
        engine,
        "SELECT payload FROM outbox_message WHERE key = :key AND event_type LIKE :kind "
        "ORDER BY seq DESC LIMIT 1",
        key=reservation_id,
        kind=f"%.{kind}.v1",
    )
    return dict(json.loads(rows[0].payload))


async def activate(
    sessions: async_sessionmaker[AsyncSession], clock: TestClock, reservation_id: str, device: str
) -> None:
    """The contracts service's `contract.activated`: the family has the device now."""
    async with sessions() as session, session.begin():
        await lifecycle.contract_activated(
            session,
            reservation_id=uuid.UUID(reservation_id),
            device_id=uuid.UUID(device),
            at=clock.now,
            now=clock(),
        )


async def run_expiry(
    sessions: async_sessionmaker[AsyncSession], settings: ReservationsSettings, clock: TestClock
) -> dict[str, int]:
    """One run of the expiry job at the clock's time."""
    async with sessions() as session, session.begin():
        return await lifecycle.expire_overdue(session, now=clock())


class TestWaitlist:
    async def test_order_is_score_then_request_time_with_positions(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        first = await reserve(client, tokens.school_a, learner="l-1")
        second = await reserve(
            client, tokens.school_a, learner="l-2", social_criteria=DECLARED_SINGLE
        )
        third = await reserve(client, tokens.riga, learner="l-3", social_criteria=LOW_INCOME)
        fourth = await reserve(client, tokens.school_a, learner="l-4")
        r = await client.get(
            f"{API}/institutions/{SCHOOL_A}/waitlist", headers=bearer(tokens.school_a)
        )
        assert r.status_code == 200, r.text
        entries = r.json()["items"]
        assert [(e["position"], e["reservation"]["id"]) for e in entries] == [
            (1, third["id"]),
            (2, second["id"]),
            (3, first["id"]),
            (4, fourth["id"]),
        ]
        page = await client.get(
            f"{API}/institutions/{SCHOOL_A}/waitlist",
            params={"limit": 3},
            headers=bearer(tokens.riga),
        )
        rest = await client.get(
            f"{API}/institutions/{SCHOOL_A}/waitlist",
            params={"limit": 3, "cursor": page.json()["next_cursor"]},
            headers=bearer(tokens.riga),
        )
        assert [e["position"] for e in rest.json()["items"]] == [4]
        assert (await state_of(client, tokens, first["id"]))["waitlist_position"] == 3

    async def test_waitlist_is_for_staff_of_the_institution(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        url = f"{API}/institutions/{SCHOOL_A}/waitlist"
        problem(await client.get(url, headers=bearer(tokens.school_b)), 403, "tenant-forbidden")
        problem(await client.get(url, headers=bearer(tokens.guardian)), 403, "tenant-forbidden")
        problem(await client.get(url, headers=bearer(tokens.valmiera)), 403, "tenant-forbidden")
        missing = f"{API}/institutions/7777777777/waitlist"
        problem(
            await client.get(missing, headers=bearer(tokens.platform)), 404, "institution-not-found"
        )

    async def test_cancel_offers_the_device_to_the_best_eligible_request(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        engine: AsyncEngine,
    ) -> None:
        laptop = await inventory.add(category="laptop")
        holder = await reserve(client, tokens.guardian)
        tablet_fan = await reserve(
            client,
            tokens.riga,
            learner="l-tab",
            criteria={"category": "tablet"},
            social_criteria=LOW_INCOME,
        )
        plain = await reserve(client, tokens.school_a, learner="l-plain")
        declared = await reserve(
            client, tokens.school_a, learner="l-dec", social_criteria=DECLARED_SINGLE
        )
        assert holder["state"] == "approved"
        assert {tablet_fan["state"], plain["state"], declared["state"]} == {"waitlisted"}

        r = await client.post(
            f"{API}/{holder['id']}/cancel",
            json={"reason": "moved"},
            headers=bearer(tokens.guardian),
        )
        assert r.status_code == 200 and r.json()["reason"] == "moved"
        # the tablet request ranks first but does not match; the declared single parent is next
        promoted = await state_of(client, tokens, declared["id"])
        assert promoted["state"] == "approved" and promoted["device_id"] == laptop
        assert await event_types(engine, declared["id"]) == [
            "requested",
            "waitlisted",
            "offered",
            "approved",
        ]
        assert (await state_of(client, tokens, plain["id"]))["state"] == "waitlisted"
        assert (await state_of(client, tokens, tablet_fan["id"]))["waitlist_position"] == 1
        # Events name the claimed criteria (for statistics), never the evidence's source.
        payloads = await sql(
            engine, "SELECT payload FROM outbox_message WHERE key = :key", key=declared["id"]
        )
        for row in payloads:
            data = json.loads(row.payload)
            assert data["social_criteria"] == ["single_parent"]
            assert "declared" not in row.payload.decode()
        cancelled = await sql(
            engine, "SELECT payload FROM outbox_message WHERE event_type LIKE '%cancelled%'"
        )
        assert laptop.encode() in cancelled[0].payload  # the inventory learns which device is free

    async def test_a_device_back_from_repair_goes_to_the_waitlist(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
    ) -> None:
        laptop = await inventory.add(status="in_repair")
        waiting = await reserve(client, tokens.guardian)
        assert waiting["state"] == "waitlisted"
        await inventory.change(laptop, status="available")
        assert (await state_of(client, tokens, waiting["id"]))["device_id"] == laptop


class TestDeviceLeavingService:
    async def test_reallocated_to_another_free_device(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        engine: AsyncEngine,
    ) -> None:
        first = await inventory.add()
        approved = await reserve(client, tokens.guardian)
        assert approved["device_id"] == first
        second = await inventory.add()
        await inventory.change(first, status="stolen")
        moved = await state_of(client, tokens, approved["id"])
        assert moved["state"] == "approved" and moved["device_id"] == second
        assert await event_types(engine, approved["id"]) == [
            "requested",
            "approved",
            "device_withdrawn",
            "approved",
        ]
        withdrawn = await outbox_payload(engine, approved["id"], "device_withdrawn")
        assert (withdrawn["device_id"], withdrawn["reason"]) == (first, "device stolen")

    async def test_back_on_the_waitlist_keeping_its_place(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        clock: TestClock,
    ) -> None:
        laptop = await inventory.add()
        approved = await reserve(client, tokens.guardian)
        clock.advance(hours=1)
        later = await reserve(client, tokens.school_a, learner="l-later")
        await inventory.change(laptop, institution=SCHOOL_B)  # moved to another school
        back = await state_of(client, tokens, approved["id"])
        assert back["state"] == "waitlisted" and back["device_id"] is None
        assert back["requested_at"] == approved["requested_at"]
        assert back["waitlist_position"] == 1 and back["reason"] == "device moved"
        assert (await state_of(client, tokens, later["id"]))["waitlist_position"] == 2

    async def test_out_of_order_and_replayed_snapshots_change_nothing(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        engine: AsyncEngine,
    ) -> None:
        laptop = await inventory.add()
        inventory.devices[laptop]["version"] = 5
        await inventory.change(laptop, status="available")  # version 6
        inventory.devices[laptop]["version"] = 2
        await inventory.change(laptop, status="lost")  # version 3: older, ignored
        rows = await sql(
            engine, "SELECT status, inventory_version FROM device WHERE id = :id", id=laptop
        )
        assert (rows[0].status, rows[0].inventory_version) == ("available", 6)


class TestExpiry:
    async def test_unclaimed_reservation_expires_and_the_next_in_line_gets_the_device(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        clock: TestClock,
        sessions: async_sessionmaker[AsyncSession],
        settings: ReservationsSettings,
        engine: AsyncEngine,
    ) -> None:
        laptop = await inventory.add()
        unclaimed = await reserve(client, tokens.guardian)
        waiting = await reserve(client, tokens.school_a, learner="l-next")
        clock.advance(days=6, hours=23)
        assert await run_expiry(sessions, settings, clock) == {
            "reservations_expired": 0,
            "reservations_offered": 0,
        }
        clock.advance(hours=2)
        assert await run_expiry(sessions, settings, clock) == {
            "reservations_expired": 1,
            "reservations_offered": 1,
        }
        gone = await state_of(client, tokens, unclaimed["id"])
        assert gone["state"] == "expired" and gone["reason"] == "not_picked_up"
        offered = await state_of(client, tokens, waiting["id"])
        assert offered["state"] == "approved" and offered["device_id"] == laptop
        # the new holder gets a fresh pickup deadline from now
        deadline = dt.datetime.fromisoformat(offered["pickup_deadline"])
        assert deadline > clock.now + dt.timedelta(days=6)
        assert await event_types(engine, unclaimed["id"]) == ["requested", "approved", "expired"]

    async def test_requests_still_waiting_when_their_period_ends_expire(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        schools: dict[str, str],
        clock: TestClock,
        sessions: async_sessionmaker[AsyncSession],
        settings: ReservationsSettings,
    ) -> None:
        end = clock.now + dt.timedelta(days=10)
        waiting = await reserve(client, tokens.guardian, end=end.isoformat())
        clock.advance(days=11)
        assert (await run_expiry(sessions, settings, clock))["reservations_expired"] == 1
        assert (await state_of(client, tokens, waiting["id"]))["reason"] == "period_ended"
        # …and the learner may reserve again
        await reserve(client, tokens.guardian)

    async def test_housekeeping_runs_expiry_with_the_apps_clock(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        clock: TestClock,
        sessions: async_sessionmaker[AsyncSession],
        settings: ReservationsSettings,
    ) -> None:
        await inventory.add()
        unclaimed = await reserve(client, tokens.guardian)
        clock.advance(days=8)
        real_now = dt.datetime.now(dt.UTC)  # the housekeeper passes real time; the job ignores it
        deleted = await purge_once(sessions, settings, real_now, [expiry_job(settings, clock)])
        assert deleted["reservations_expired"] == 1
        assert (await state_of(client, tokens, unclaimed["id"]))["state"] == "expired"


class TestLoans:
    async def test_activation_fulfils_and_return_frees_the_device_for_the_next(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        clock: TestClock,
        sessions: async_sessionmaker[AsyncSession],
        settings: ReservationsSettings,
        engine: AsyncEngine,
    ) -> None:
        laptop = await inventory.add()
        holder = await reserve(client, tokens.guardian)
        waiting = await reserve(client, tokens.school_a, learner="l-next")
        await activate(sessions, clock, holder["id"], laptop)
        fulfilled = await state_of(client, tokens, holder["id"])
        assert fulfilled["state"] == "fulfilled" and fulfilled["pickup_deadline"] is None
        # fulfilled is still active: the learner cannot reserve a second device
        r = await client.post(
            API,
            json={"learner_id": CHILD, "institution_number": SCHOOL_A},
            headers=bearer(tokens.guardian),
        )
        problem(r, 409, "active-limit-reached")

        returned_at = clock.advance(days=30)
        async with sessions() as session, session.begin():
            await lifecycle.loan_ended(
                session,
                reservation_id=uuid.UUID(holder["id"]),
                at=returned_at,
                now=clock(),
            )
        ended = await state_of(client, tokens, holder["id"])
        assert dt.datetime.fromisoformat(ended["end"]) == returned_at
        offered = await state_of(client, tokens, waiting["id"])
        assert offered["state"] == "approved" and offered["device_id"] == laptop
        assert dt.datetime.fromisoformat(offered["start"]) >= returned_at
        assert await sql(engine, OVERLAPS) == []
        await reserve(client, tokens.guardian)  # the loan is over: a new reservation is allowed

    async def test_the_device_handed_out_is_withdrawn_from_whoever_was_to_get_it(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        clock: TestClock,
        sessions: async_sessionmaker[AsyncSession],
        engine: AsyncEngine,
    ) -> None:
        laptop = await inventory.add()
        first = await reserve(client, tokens.guardian)  # approved with the laptop
        await inventory.change(laptop, status="in_repair")  # back on the waitlist
        spare = await inventory.add()
        assert (await state_of(client, tokens, first["id"]))["device_id"] == spare
        await inventory.change(laptop, status="available")
        second = await reserve(client, tokens.school_a, learner="l-second")
        assert (await state_of(client, tokens, second["id"]))["device_id"] == laptop
        # The school hands the repaired laptop to the first family, under its first contract.
        await activate(sessions, clock, first["id"], laptop)
        lent = await state_of(client, tokens, first["id"])
        assert (lent["state"], lent["device_id"]) == ("fulfilled", laptop)
        given_up = await outbox_payload(engine, first["id"], "device_withdrawn")
        assert given_up["device_id"] == spare  # the spare it was approved with goes back
        moved = await state_of(client, tokens, second["id"])
        assert (moved["state"], moved["device_id"]) == ("approved", spare)
        assert (await event_types(engine, second["id"]))[-2:] == ["device_withdrawn", "approved"]
        taken = await outbox_payload(engine, second["id"], "device_withdrawn")
        assert (taken["device_id"], taken["reason"]) == (laptop, "device handed to another")
        assert await sql(engine, OVERLAPS) == []

    async def test_a_device_lent_to_another_family_refuses_the_activation(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        clock: TestClock,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        laptop = await inventory.add()
        lent = await reserve(client, tokens.guardian)
        other = await reserve(client, tokens.school_a, learner="l-other")  # waitlisted

        await activate(sessions, clock, lent["id"], laptop)
        with pytest.raises(DeviceTaken):  # two loans of one device: for people to resolve
            await activate(sessions, clock, other["id"], laptop)
        assert (await state_of(client, tokens, lent["id"]))["state"] == "fulfilled"
        assert (await state_of(client, tokens, other["id"]))["state"] == "waitlisted"

    async def test_activation_after_expiry_is_honoured_when_the_device_is_still_free(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        clock: TestClock,
        sessions: async_sessionmaker[AsyncSession],
        settings: ReservationsSettings,
    ) -> None:
        laptop = await inventory.add()
        late = await reserve(client, tokens.guardian)
        clock.advance(days=8)
        await run_expiry(sessions, settings, clock)
        await activate(sessions, clock, late["id"], laptop)
        assert (await state_of(client, tokens, late["id"]))["state"] == "fulfilled"


class TestStaffApproval:
    @pytest.fixture
    async def staff_policy(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        r = await client.put(
            f"{API}/policies/{RIGA}", json={"auto_approve": False}, headers=bearer(tokens.riga)
        )
        assert r.status_code == 200, r.text

    async def test_requests_wait_for_staff_who_allocate_or_name_a_device(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        staff_policy: None,
        engine: AsyncEngine,
    ) -> None:
        first, second = await inventory.add(), await inventory.add(category="tablet")
        a = await reserve(client, tokens.guardian, criteria={"category": "laptop"})
        b = await reserve(client, tokens.school_a, learner="l-b")
        c = await reserve(client, tokens.school_a, learner="l-c")
        assert {a["state"], b["state"], c["state"]} == {"requested"}

        r = await client.post(f"{API}/{a['id']}/approve", headers=bearer(tokens.school_a))
        assert r.status_code == 200 and r.json()["device_id"] == first  # the matching free one
        r = await client.post(
            f"{API}/{b['id']}/approve", json={"device_id": first}, headers=bearer(tokens.school_a)
        )
        problem(r, 409, "device-taken")
        r = await client.post(
            f"{API}/{b['id']}/approve",
            json={"device_id": schools[SCHOOL_A]},
            headers=bearer(tokens.school_a),
        )
        assert problem(r, 409, "device-unavailable")["device_status"] == "in_stock"
        r = await client.post(
            f"{API}/{b['id']}/approve",
            json={"device_id": str(uuid.uuid4())},
            headers=bearer(tokens.school_a),
        )
        problem(r, 404, "device-not-found")
        r = await client.post(
            f"{API}/{b['id']}/approve", json={"device_id": second}, headers=bearer(tokens.riga)
        )
        assert r.status_code == 200 and r.json()["device_id"] == second
        r = await client.post(f"{API}/{c['id']}/approve", headers=bearer(tokens.school_a))
        problem(r, 409, "no-device-free")
        r = await client.post(
            f"{API}/{c['id']}/approve",
            json={"waitlist_if_unavailable": True},
            headers=bearer(tokens.school_a),
        )
        assert r.status_code == 200 and r.json()["state"] == "waitlisted"
        assert await sql(engine, OVERLAPS) == []

    async def test_named_device_must_match_the_request(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        staff_policy: None,
    ) -> None:
        tablet = await inventory.add(category="tablet")
        wants_laptop = await reserve(client, tokens.guardian, criteria={"category": "laptop"})
        r = await client.post(
            f"{API}/{wants_laptop['id']}/approve",
            json={"device_id": tablet},
            headers=bearer(tokens.school_a),
        )
        problem(r, 422, "device-mismatch")


class TestAvailability:
    async def test_counts_free_matching_devices_for_the_period(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        clock: TestClock,
    ) -> None:
        await inventory.add(category="laptop", screen="14.0")
        await inventory.add(category="laptop", screen="15.6")
        await inventory.add(category="tablet", screen="10.1", touch=True)
        await inventory.add(category="laptop", status="in_repair")
        start = clock.now + dt.timedelta(days=1)
        end = start + dt.timedelta(days=30)
        await reserve(
            client,
            tokens.guardian,
            criteria={"min_screen_inches": "15"},
            start=start.isoformat(),
            end=end.isoformat(),
        )

        async def count(**params: Any) -> tuple[int, int]:
            r = await client.get(
                f"{API}/availability",
                params={"institution_number": SCHOOL_A, **params},
                headers=bearer(tokens.analyst),
            )
            assert r.status_code == 200, r.text
            return r.json()["matching"], r.json()["free"]

        window = {"start": start.isoformat(), "end": end.isoformat()}
        assert await count(**window) == (3, 2)
        assert await count(category="laptop", **window) == (2, 1)
        assert await count(touch="true", **window) == (1, 1)
        assert await count(screen_inches="15.6", **window) == (1, 0)
        later = {
            "start": (end + dt.timedelta(days=1)).isoformat(),
            "end": (end + dt.timedelta(days=9)).isoformat(),
        }
        assert await count(category="laptop", **later) == (2, 2)
        r = await client.get(
            f"{API}/availability",
            params={
                "institution_number": SCHOOL_A,
                "start": end.isoformat(),
                "end": start.isoformat(),
            },
            headers=bearer(tokens.guardian),
        )
        problem(r, 422, "invalid-period")
        r = await client.get(
            f"{API}/availability",
            params={"institution_number": "5555555555"},
            headers=bearer(tokens.guardian),
        )
        problem(r, 404, "institution-not-found")

    async def test_the_offer_lists_each_item_the_school_lends_with_free_counts(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        clock: TestClock,
    ) -> None:
        await inventory.add(item="LAPTOP-14")
        await inventory.add(item="LAPTOP-14")
        tablet = dict(category="tablet", os="android", screen="10.1", touch=True, item="TAB-10")
        await inventory.add(**tablet)
        await inventory.add(item="LAPTOP-14", status="in_repair")
        await inventory.add(item="OTHER-SCHOOL", institution=SCHOOL_B)
        await reserve(client, tokens.guardian, criteria={"catalogue_item_code": "TAB-10"})
        r = await client.get(
            f"{API}/availability/offer",
            params={"institution_number": SCHOOL_A},
            headers=bearer(tokens.guardian),
        )
        assert r.status_code == 200, r.text
        items = [
            (i["catalogue_item_code"], i["category"], i["touch"], i["matching"], i["free"])
            for i in r.json()["items"]
        ]
        assert items == [("LAPTOP-14", "laptop", False, 2, 2), ("TAB-10", "tablet", True, 1, 0)]
        later = (clock.now + dt.timedelta(days=400)).isoformat()
        r = await client.get(
            f"{API}/availability/offer",
            params={"institution_number": SCHOOL_A, "start": later},
            headers=bearer(tokens.guardian),
        )
        assert [i["free"] for i in r.json()["items"]] == [2, 1]
        r = await client.get(
            f"{API}/availability/offer",
            params={"institution_number": "5555555555"},
            headers=bearer(tokens.guardian),
        )
        problem(r, 404, "institution-not-found")

    async def test_a_school_with_more_devices_than_a_statement_has_parameters(
        self,
        client: httpx.AsyncClient,
        tokens: Tokens,
        inventory: Inventory,
        schools: dict[str, str],
        engine: AsyncEngine,
    ) -> None:
        # A 50,000-row delivery may go to one school; the bookings of all its devices are
        # looked up at once (asyncpg allows 32,767 parameters per statement).
        await inventory.add()
        async with engine.begin() as conn:
            await conn.execute(text(COPIES), {"n": 32_768})
        await reserve(client, tokens.guardian)
        r = await client.get(
            f"{API}/availability",
            params={"institution_number": SCHOOL_A},
            headers=bearer(tokens.analyst),
        )
        assert r.status_code == 200, r.text
        assert (r.json()["matching"], r.json()["free"]) == (32_769, 32_768)

    async def test_bad_criteria_are_validation_errors(
        self, client: httpx.AsyncClient, tokens: Tokens, schools: dict[str, str]
    ) -> None:
        for params in (
            {"category": "Lap top"},
            {"screen_inches": "14.55"},
            {"min_screen_inches": "15", "max_screen_inches": "12"},
            {"start": "0001-01-01T00:00:00+05:00"},
        ):
            r = await client.get(
                f"{API}/availability",
                params={"institution_number": SCHOOL_A, **params},
                headers=bearer(tokens.guardian),
            )
            assert problem(r, 422, "validation")["errors"][0]["in"] == "query", params
