"""What ticket events tell their consumers (the notifications service): the reporting person,
the SLA deadlines while the clocks run, assignment changes, and public comments only."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kit.migrations import alembic_config, upgrade
from shared_kit.testing.http import bearer
from tickets_service.main import MIGRATIONS

from .conftest import API, GUARDIAN, START, TECHNICIAN, World, contract_event, sql

PREFIX = "lv.datori.tickets."


async def published(world: World, ticket_id: str, kind: str) -> list[dict[str, Any]]:
    """Payloads of one kind of event (e.g. `ticket.assigned`) written for a ticket, in order."""
    return [
        json.loads(r.payload)
        for r in await world.outbox()
        if r.key == ticket_id and r.event_type == f"{PREFIX}{kind}.v1"
    ]


def at(value: str | None) -> dt.datetime | None:
    """An event's instant as a datetime."""
    return None if value is None else dt.datetime.fromisoformat(value)


async def comment(world: World, ticket: dict[str, Any], token: str, **body: Any) -> str:
    """Comment on a ticket; returns the comment's id."""
    r = await world.client.post(
        f"{API}/{ticket['id']}/comments", json={"body": "Text", **body}, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def assign(world: World, ticket: dict[str, Any], assignee: str | None) -> None:
    """Assign (or unassign) a ticket as the technician."""
    r = await world.client.post(
        f"{API}/{ticket['id']}/assign",
        json={"assignee_id": assignee},
        headers=bearer(world.tokens.technician),
    )
    assert r.status_code == 200, r.text


class TestReporterAndClocks:
    async def test_a_persons_report_names_them_with_the_running_deadlines(
        self, world: World
    ) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)  # normal: 2 days / 10 days
        [opened] = await published(world, ticket["id"], "ticket.opened")
        assert opened["reporter_id"] == GUARDIAN
        assert at(opened["response_due_at"]) == START + dt.timedelta(days=2)
        assert at(opened["resolution_due_at"]) == START + dt.timedelta(days=10)

    async def test_stopped_and_paused_clocks_are_null(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        world.clock.advance(hours=1)
        await world.move(ticket, "acknowledged")  # the response clock stops
        [acknowledged] = await published(world, ticket["id"], "ticket.acknowledged")
        assert acknowledged["response_due_at"] is None
        assert at(acknowledged["resolution_due_at"]) == START + dt.timedelta(days=10)
        await world.move(ticket, "waiting_for_reporter")  # the resolution clock pauses
        world.clock.advance(days=1)
        await world.move(ticket, "in_progress")
        await world.move(ticket, "resolved")
        [resolved] = await published(world, ticket["id"], "ticket.resolved")
        assert resolved["response_due_at"] is None and resolved["resolution_due_at"] is None
        world.clock.advance(hours=2)
        await world.move(ticket, "acknowledged")  # reopened: the clock goes on, later by pauses
        [reopened] = await published(world, ticket["id"], "ticket.reopened")
        assert at(reopened["resolution_due_at"]) == START + dt.timedelta(days=11, hours=2)
        assert reopened["reporter_id"] == GUARDIAN

    async def test_a_machine_client_or_an_institution_is_no_person(self, world: World) -> None:
        device, contract = await world.lent()
        by_platform = await world.report(world.tokens.riga_client, device)
        [opened] = await published(world, by_platform["id"], "ticket.opened")
        assert opened["reporter_kind"] == "support" and opened["reporter_id"] is None
        await world.handle(
            contract_event(
                "returned",
                contract_id=contract,
                device_id=device,
                condition="damaged",
                notes=None,
                photo_ids=[],
            )
        )
        [from_return] = [
            json.loads(r.payload)
            for r in await world.outbox()
            if r.event_type == f"{PREFIX}ticket.opened.v1" and r.key != by_platform["id"]
        ]
        assert from_return["reporter_kind"] == "institution"
        assert from_return["reporter_id"] is None

    async def test_a_technicians_own_report_names_them(self, world: World) -> None:
        device = await world.device()
        ticket = await world.report(world.tokens.technician, device)
        [opened] = await published(world, ticket["id"], "ticket.opened")
        assert (opened["reporter_kind"], opened["reporter_id"]) == ("support", TECHNICIAN)


class TestAssigned:
    async def test_each_change_of_assignee_publishes_once(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        await assign(world, ticket, TECHNICIAN)
        await assign(world, ticket, TECHNICIAN)  # the same again: nothing new to tell
        await assign(world, ticket, None)
        events = await published(world, ticket["id"], "ticket.assigned")
        assert [e["assignee_id"] for e in events] == [TECHNICIAN, None]
        assert all(e["reporter_id"] == GUARDIAN for e in events)
        assert events[0]["ticket_id"] == ticket["id"] and events[0]["state"] == "new"


class TestCommented:
    async def test_an_internal_comment_publishes_nothing(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        await comment(world, ticket, world.tokens.technician, visibility="internal")
        await comment(world, ticket, world.tokens.school_a, visibility="internal")
        assert await published(world, ticket["id"], "ticket.commented") == []

    async def test_a_public_comment_publishes_once_without_its_text(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        world.clock.advance(minutes=5)
        comment_id = await comment(
            world, ticket, world.tokens.technician, body="Call 20000000, Jānis"
        )
        rows = [r for r in await world.outbox() if r.event_type == f"{PREFIX}ticket.commented.v1"]
        assert len(rows) == 1 and rows[0].key == ticket["id"]
        assert b"20000000" not in rows[0].payload and b"J\\u0101nis" not in rows[0].payload
        assert json.loads(rows[0].payload) == {
            "ticket_id": ticket["id"],
            "number": ticket["number"],
            "municipality_code": ticket["municipality_code"],
            "institution_number": ticket["institution_number"],
            "comment_id": comment_id,
            "author_id": TECHNICIAN,
            "by_staff": True,
            "reporter_id": GUARDIAN,
            "commented_at": "2026-10-05T07:05:00Z",
        }

    async def test_the_reporters_answer_is_not_by_staff(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        await world.move(ticket, "waiting_for_reporter")
        await comment(world, ticket, world.tokens.guardian, body="It flickers at night")
        [event] = await published(world, ticket["id"], "ticket.commented")
        assert (event["author_id"], event["by_staff"]) == (GUARDIAN, False)
        assert (await world.get(ticket["id"]))["state"] == "acknowledged"

    async def test_a_machine_clients_comment_names_no_author(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        await comment(world, ticket, world.tokens.riga_client)
        [event] = await published(world, ticket["id"], "ticket.commented")
        assert (event["author_id"], event["by_staff"]) == (None, True)


async def test_the_migration_tells_persons_from_clients_and_institutions(
    world: World, engine: AsyncEngine
) -> None:
    device, contract = await world.lent()
    person = await world.report(world.tokens.guardian, device)
    platform = await world.report(world.tokens.riga_client, device)
    await world.handle(
        contract_event(
            "returned",
            contract_id=contract,
            device_id=device,
            condition="damaged",
            notes=None,
            photo_ids=[],
        )
    )
    url = world.settings.database_url
    await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "0002")
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    rows = await sql(engine, "SELECT id, reporter_kind::text, reporter_is_person FROM ticket")
    marks = {str(r.id): (r.reporter_kind, r.reporter_is_person) for r in rows}
    assert marks.pop(person["id"]) == ("guardian", True)
    assert marks.pop(platform["id"]) == ("support", False)
    assert list(marks.values()) == [("institution", False)]
