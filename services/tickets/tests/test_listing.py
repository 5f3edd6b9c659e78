"""The ticket list answers byte for byte as the ORM path did: each ticket read as a `Ticket`,
its device looked up apart, `TicketRead.of` per item and `Page[TicketRead]` written by pydantic."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kit.db import session_scope
from shared_kit.pagination import encode_cursor, page_response
from shared_kit.testing.http import bearer
from tickets_service.models import Device, Ticket
from tickets_service.schemas import TicketRead
from tickets_service.service.tickets import device_info, local_today

from .conftest import API, TECHNICIAN, VALMIERA, VALMIERA_SCHOOL, World


async def as_before(world: World, answer: httpx.Response) -> bytes:
    """The page the ORM path wrote for the tickets of `answer`, in its order and with its
    cursor (the items' own objects, their devices, and pydantic's JSON)."""
    page = answer.json()
    today = local_today(world.clock(), world.settings.timezone)
    items = []
    async for session in session_scope(world.app.state.sessions):
        for item in page["items"]:
            ticket = await session.get(Ticket, uuid.UUID(item["id"]))
            assert ticket is not None
            device = await session.get(Device, ticket.device_id)
            items.append(TicketRead.of(ticket, device_info(device, today)))
    return bytes(page_response(items, page["next_cursor"]).body)


async def variety(world: World, engine: AsyncEngine) -> list[str]:
    """Tickets of every shape a page shows: on loan and not, under warranty and past it,
    insured or not, a device the read model no longer has, return photos, assigned,
    resolved, paused, breached; their ids, oldest first."""
    lent, _ = await world.lent(warranty="2026-10-05", insured=None)
    school = await world.device(status="available", warranty=None, insured="2030-01-01")
    gone = await world.device(status="in_repair")
    ids = []
    for device, severity in ((lent, "critical"), (school, "low"), (gone, "normal"), (lent, "high")):
        token = world.tokens.guardian if device == lent else world.tokens.technician
        ids.append((await world.report(token, device, severity=severity))["id"])
        world.clock.advance(minutes=7, microseconds=1500)  # fractions of a second too
    valmiera = await world.device(municipality=VALMIERA, institution=VALMIERA_SCHOOL)
    ids.append((await world.report(world.tokens.valmiera, valmiera))["id"])
    await world.move({"id": ids[1]}, "resolved", resolution="Replaced the panel")
    await world.move({"id": ids[3]}, "waiting_for_reporter")
    r = await world.client.post(
        f"{API}/{ids[0]}/assign",
        json={"assignee_id": TECHNICIAN},
        headers=bearer(world.tokens.riga),
    )
    assert r.status_code == 200, r.text
    photos = [str(uuid.uuid4()), str(uuid.uuid4()).upper()]  # upper case: written canonical
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE ticket SET return_photo_ids = CAST(:p AS jsonb) WHERE id = :id"),
            {"p": f'["{photos[0]}", "{photos[1]}"]', "id": ids[2]},
        )
        await conn.execute(text("DELETE FROM device WHERE id = :id"), {"id": gone})
    world.clock.advance(days=3)
    await world.run_sla_job()
    return ids


class TestListAnswers:
    async def test_pages_are_the_tickets_as_the_orm_path_wrote_them(
        self, world: World, engine: AsyncEngine
    ) -> None:
        ids = await variety(world, engine)
        riga = ids[:4]
        for token, params, expected in (
            (world.tokens.technician, {}, riga),
            (world.tokens.technician, {"open": "true"}, [ids[0], ids[2], ids[3]]),
            (world.tokens.technician, {"breached": "true"}, None),
            (world.tokens.guardian, {}, [ids[0], ids[3]]),
            (world.tokens.platform, {}, ids),
            (world.tokens.valmiera, {}, ids[4:]),
            (world.tokens.platform, {"municipality_code": "0000000"}, []),
        ):
            r = await world.client.get(API, params=params, headers=bearer(token))
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "application/json"
            if expected is not None:
                assert [t["id"] for t in r.json()["items"]] == expected
            assert r.content == await as_before(world, r)

    async def test_every_page_of_a_walk_and_its_cursors(
        self, world: World, engine: AsyncEngine
    ) -> None:
        ids = await variety(world, engine)
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 2}
        while True:
            r = await world.client.get(API, params=params, headers=bearer(world.tokens.platform))
            assert r.status_code == 200, r.text
            assert r.content == await as_before(world, r)
            page = r.json()
            seen += [t["id"] for t in page["items"]]
            if not page["next_cursor"]:
                break
            last = page["items"][-1]
            opened = dt.datetime.fromisoformat(last["opened_at"])
            assert page["next_cursor"] == encode_cursor([opened, uuid.UUID(last["id"])])
            params["cursor"] = page["next_cursor"]
        assert seen == ids
