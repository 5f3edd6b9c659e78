"""Reporting and working tickets: routing, warranty, lists and filters, assignment, the queue
summary, loss confirmation, loaners, insurance claims, idempotent retries."""

from __future__ import annotations

import json
import uuid
from dataclasses import fields
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kit.testing.http import bearer, problem
from tickets_service.models import NewTicket
from tickets_service.repository.reports import TICKET_COLUMNS

from .conftest import (
    API,
    CHILD,
    GUARDIAN,
    RIGA,
    SCHOOL_A,
    TECHNICIAN,
    VALMIERA,
    VALMIERA_SCHOOL,
    World,
    sql,
)


async def effects(world: World, device: str) -> list[dict[str, Any]]:
    """Payloads of the device effects written for a device, in order."""
    return [
        {"type": r.event_type.removeprefix("lv.datori.tickets.").removesuffix(".v1"),
         **json.loads(r.payload)}
        for r in await world.outbox()
        if r.key == device
    ]  # fmt: skip


class TestReport:
    def test_a_new_ticket_is_the_columns_a_report_writes(self) -> None:
        assert [f.name for f in fields(NewTicket)] == TICKET_COLUMNS

    async def test_ticket_shows_routing_warranty_and_insurance(self, world: World) -> None:
        device, contract = await world.lent(warranty="2026-10-05", insured="2026-10-04")
        ticket = await world.report(world.tokens.guardian, device, category="keyboard")
        assert ticket["municipality_code"] == RIGA and ticket["institution_number"] == SCHOOL_A
        assert ticket["warranty_claim"] is True  # the warranty's last day is today in Riga
        assert ticket["device"] == {
            "status": "on_loan",
            "category": "laptop",
            "os": "windows",
            "warranty_ends_on": "2026-10-05",
            "under_warranty": True,
            "insured_until": "2026-10-04",
            "insured": False,
        }
        assert ticket["number"] > 0 and ticket["contract_id"] == contract
        damage = await world.report(world.tokens.guardian, device, category="damage")
        assert damage["warranty_claim"] is False  # damage is not a manufacturer's fault
        world.clock.advance(days=1)
        later = await world.get(ticket["id"])
        assert later["device"]["under_warranty"] is False and later["warranty_claim"] is True

    async def test_answer_is_the_ticket_as_read(self, world: World) -> None:
        device, _ = await world.lent(tag="RIX-ANSWER")
        for body in (
            {"device_id": device},
            {"asset_tag": "RIX-ANSWER", "police_report_number": None},
        ):
            r = await world.client.post(
                API,
                json={
                    **body,
                    "category": "keyboard",
                    "description": "Keys stick",
                    "severity": "high",
                },
                headers=bearer(world.tokens.guardian),
            )
            assert r.status_code == 201, r.text
            read = await world.client.get(
                r.headers["Location"], headers=bearer(world.tokens.guardian)
            )
            assert r.content == read.content  # same fields, order, values and JSON
            assert r.headers["ETag"] == read.headers["ETag"]
            assert r.headers["content-type"] == read.headers["content-type"]

    async def test_report_writes_ticket_history_and_event_together(
        self, world: World, engine: AsyncEngine
    ) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device, severity="critical")
        [history] = await sql(
            engine,
            "SELECT from_state, to_state::text, actor, at FROM ticket_transition "
            "WHERE ticket_id = :id",
            id=ticket["id"],
        )
        assert history[:3] == (None, "new", f"person:{GUARDIAN}")
        assert history.at.isoformat().replace("+00:00", "Z") == ticket["opened_at"]
        [opened] = [r for r in await world.outbox() if r.key == ticket["id"]]
        data = json.loads(opened.payload)
        assert data["number"] == ticket["number"] and data["severity"] == "critical"
        assert data["response_due_at"] == ticket["sla"]["response_due_at"]
        # A refused report writes nothing: no ticket, no history, no event.
        before = len(await world.outbox())
        await world.report(world.tokens.other_guardian, device, status=403)
        assert len(await world.outbox()) == before
        rows = await sql(engine, "SELECT count(*) FROM ticket_transition")
        assert rows[0][0] == 1

    async def test_retry_with_the_same_key_replays(self, world: World) -> None:
        device, _ = await world.lent()
        body = {"device_id": device, "category": "screen", "description": "Flickers"}
        headers = {**bearer(world.tokens.guardian), "Idempotency-Key": "retry-1"}
        first = await world.client.post(API, json=body, headers=headers)
        again = await world.client.post(API, json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        other = await world.client.post(API, json={**body, "description": "x"}, headers=headers)
        problem(other, 422, "idempotency-key-reused")
        r = await world.client.get(API, headers=bearer(world.tokens.guardian))
        assert len(r.json()["items"]) == 1

    async def test_open_event_carries_no_free_text(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(
            world.tokens.guardian, device, description="Call me at 20000000, Jānis"
        )
        [opened] = [r for r in await world.outbox() if r.key == ticket["id"]]
        assert b"20000000" not in opened.payload and b"J\\u0101nis" not in opened.payload
        data = json.loads(opened.payload)
        assert data["learner_id"] == CHILD and data["reporter_id"] == GUARDIAN
        assert opened.event_type == "lv.datori.tickets.ticket.opened.v1"


class TestListAndQueue:
    async def test_filters_pages_and_the_queue_summary(self, world: World) -> None:
        device, _ = await world.lent()
        ids = []
        for severity in ("critical", "low", "normal", "critical"):
            ticket = await world.report(world.tokens.guardian, device, severity=severity)
            ids.append(ticket["id"])
            world.clock.advance(minutes=10)
        valmiera = await world.device(municipality=VALMIERA, institution=VALMIERA_SCHOOL)
        await world.report(world.tokens.valmiera, valmiera)
        await world.move({"id": ids[1]}, "resolved")
        r = await world.client.post(
            f"{API}/{ids[0]}/assign",
            json={"assignee_id": TECHNICIAN},
            headers=bearer(world.tokens.riga),
        )
        assert r.status_code == 200 and r.json()["assigned_at"] is not None
        tech = bearer(world.tokens.technician)

        async def listed(**params: Any) -> list[str]:
            r = await world.client.get(API, params=params, headers=tech)
            assert r.status_code == 200, r.text
            return [t["id"] for t in r.json()["items"]]

        assert await listed() == ids
        assert await listed(open="true") == [ids[0], ids[2], ids[3]]
        assert await listed(open="false") == [ids[1]]
        assert await listed(severity="critical") == [ids[0], ids[3]]
        assert await listed(state=["new", "resolved"], severity=["low", "normal"]) == ids[1:3]
        assert await listed(assignee_id=TECHNICIAN) == [ids[0]]
        assert await listed(unassigned="true", open="true") == [ids[2], ids[3]]
        assert await listed(municipality_code=VALMIERA) == []
        assert await listed(device_id=device, category="screen") == ids

        pages, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 3}
            if cursor:
                params["cursor"] = cursor
            r = await world.client.get(API, params=params, headers=tech)
            pages.append([t["id"] for t in r.json()["items"]])
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert pages == [ids[:3], ids[3:]]
        problem(
            await world.client.get(API, params={"cursor": "garbage!"}, headers=tech),
            422,
            "validation",
        )
        problem(
            await world.client.get(API, params={"cursor": "Z2FyYmFnZQ"}, headers=tech),
            422,
            "invalid-cursor",
        )

        world.clock.advance(hours=1)
        r = await world.client.get(f"{API}/queues/{RIGA}/summary", headers=tech)
        summary = r.json()
        assert summary["by_state"] == {
            "new": 3,
            "acknowledged": 0,
            "in_progress": 0,
            "in_repair": 0,
            "waiting_for_parts": 0,
            "waiting_for_reporter": 0,
            "resolved": 1,
            "closed": 0,
        }
        assert summary["open_total"] == 3
        assert summary["open_by_severity"] == {"critical": 2, "high": 0, "normal": 1, "low": 0}
        assert summary["open_by_assignee"] == {TECHNICIAN: 1, "unassigned": 2}
        assert summary["oldest_open"]["id"] == ids[0]
        assert summary["oldest_open"]["age_seconds"] == 100 * 60
        r = await world.client.get(
            f"{API}/queues/{RIGA}/summary", headers=bearer(world.tokens.riga_reader)
        )
        assert r.status_code == 200

    async def test_assignment_rules(self, world: World) -> None:
        device = await world.device(status="available")
        ticket = await world.report(world.tokens.school_a, device)
        url = f"{API}/{ticket['id']}/assign"
        r = await world.client.post(
            url, json={"assignee_id": "tech 2"}, headers=bearer(world.tokens.riga)
        )
        problem(r, 422, "validation")
        r = await world.client.post(
            url,
            json={"assignee_id": "tech-0002"},
            headers={**bearer(world.tokens.riga), "If-Match": '"7"'},
        )
        problem(r, 412, "precondition-failed")
        r = await world.client.post(
            url, json={"assignee_id": None}, headers=bearer(world.tokens.riga)
        )
        assert r.status_code == 200 and r.json()["assignee_id"] is None


class TestLossAndLoaner:
    async def test_confirmed_theft_and_a_loaner_for_the_learner(self, world: World) -> None:
        device, contract = await world.lent()
        ticket = await world.report(
            world.tokens.guardian, device, category="stolen", police_report_number="11-2026-7"
        )
        assert ticket["repair"] is False
        url = f"{API}/{ticket['id']}"
        r = await world.client.post(
            f"{url}/confirm-loss", json={}, headers=bearer(world.tokens.technician)
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "acknowledged" and r.json()["loss_confirmed_at"]
        problem(
            await world.client.post(
                f"{url}/confirm-loss", json={}, headers=bearer(world.tokens.technician)
            ),
            409,
            "already-done",
        )
        r = await world.client.post(f"{url}/loaner", headers=bearer(world.tokens.school_a))
        assert r.status_code == 202, r.text
        problem(
            await world.client.post(f"{url}/loaner", headers=bearer(world.tokens.school_a)),
            409,
            "already-done",
        )
        [stolen] = await effects(world, device)
        assert stolen["type"] == "device.stolen_confirmed"
        assert stolen["contract_id"] == contract
        assert stolen["police_report_number"] == "11-2026-7"
        [loaner] = [
            json.loads(r.payload)
            for r in await world.outbox()
            if r.event_type == "lv.datori.tickets.loaner.requested.v1"
        ]
        assert loaner == {
            "ticket_id": ticket["id"],
            "device_id": device,
            "municipality_code": RIGA,
            "institution_number": SCHOOL_A,
            "learner_id": CHILD,
            "borrower_id": GUARDIAN,
            "requested_by": loaner["requested_by"],
            "requested_at": "2026-10-05T07:00:00Z",
            "category": "laptop",
            "os": "windows",
        }

    async def test_loss_and_loaner_only_where_they_apply(self, world: World) -> None:
        device, _ = await world.lent()
        software = await world.report(world.tokens.guardian, device, category="software")
        tech = bearer(world.tokens.technician)
        for path in ("confirm-loss", "loaner"):
            r = await world.client.post(f"{API}/{software['id']}/{path}", headers=tech)
            problem(r, 409, "not-applicable")
        lost = await world.report(world.tokens.guardian, device, category="lost")
        r = await world.client.post(
            f"{API}/{lost['id']}/confirm-loss",
            json={"police_report_number": "11-1"},
            headers=tech,
        )
        problem(r, 409, "not-applicable")  # a police report belongs to a theft
        r = await world.client.post(
            f"{API}/{lost['id']}/confirm-loss", headers=bearer(world.tokens.school_a)
        )
        assert r.status_code == 200 and r.json()["state"] == "new"  # the school is not support
        free = await world.device(status="available")
        broken = await world.report(world.tokens.school_a, free, category="screen")
        r = await world.client.post(f"{API}/{broken['id']}/loaner", headers=tech)
        problem(r, 422, "no-learner")
        await world.move(broken, "resolved")
        r = await world.client.post(f"{API}/{broken['id']}/loaner", headers=tech)
        problem(r, 409, "ticket-closed")


class TestInsuranceClaims:
    async def test_claim_life_cycle(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device, category="damage")
        url = f"{API}/{ticket['id']}/insurance-claims"
        staff = bearer(world.tokens.school_a)
        r = await world.client.post(
            url, json={"insurer": "BTA", "claim_number": "BTA-2026-1"}, headers=staff
        )
        assert r.status_code == 201, r.text
        claim = r.json()
        assert claim["status"] == "filed" and claim["version"] == 1
        problem(
            await world.client.post(
                url, json={"insurer": "BTA", "claim_number": "BTA-2026-1"}, headers=staff
            ),
            409,
            "duplicate-insurance-claim",
        )
        item = f"{url}/{claim['id']}"
        problem(
            await world.client.patch(item, json={"status": "paid"}, headers=staff),
            409,
            "illegal-transition",
        )
        problem(
            await world.client.patch(
                item, json={"status": "in_review", "payout_amount": "10.00"}, headers=staff
            ),
            422,
            "unprocessable",
        )
        r = await world.client.patch(
            item,
            json={"status": "approved", "outcome": "Screen covered", "payout_amount": "180.50"},
            headers={**staff, "If-Match": '"1"'},
        )
        assert r.status_code == 200, r.text
        assert r.json()["decided_at"] == "2026-10-05T07:00:00Z"
        assert r.json()["payout_amount"] == "180.50"
        problem(
            await world.client.patch(
                item, json={"status": "paid"}, headers={**staff, "If-Match": '"1"'}
            ),
            412,
            "precondition-failed",
        )
        r = await world.client.get(url, headers=bearer(world.tokens.guardian))
        assert [c["status"] for c in r.json()] == ["approved"]
        problem(
            await world.client.patch(
                f"{url}/{uuid.uuid4()}", json={"status": "paid"}, headers=staff
            ),
            404,
            "insurance-claim-not-found",
        )

    async def test_claims_need_damage_or_theft_of_an_insured_device(self, world: World) -> None:
        device, _ = await world.lent(insured=None)
        body = {"insurer": "BTA", "claim_number": "X-1"}
        tech = bearer(world.tokens.technician)
        screen = await world.report(world.tokens.guardian, device, category="screen")
        r = await world.client.post(
            f"{API}/{screen['id']}/insurance-claims", json=body, headers=tech
        )
        problem(r, 409, "not-applicable")
        stolen = await world.report(world.tokens.guardian, device, category="stolen")
        r = await world.client.post(
            f"{API}/{stolen['id']}/insurance-claims", json=body, headers=tech
        )
        problem(r, 409, "not-applicable")  # not insured


class TestRecordedActors:
    async def test_changes_name_a_person_or_client_and_the_reporter_id_stays_plain(
        self, world: World, engine: AsyncEngine
    ) -> None:
        device = await world.device(status="available")
        ticket = await world.report(world.tokens.riga_client, device, category="other")
        assert ticket["reporter_id"] == "riga-platform"  # compared with callers: the plain id
        await world.move(ticket, "acknowledged")
        r = await world.client.post(
            f"{API}/{ticket['id']}/comments",
            json={"body": "On it"},
            headers=bearer(world.tokens.technician),
        )
        assert r.json()["author_id"] == f"person:{TECHNICIAN}"
        rows = await sql(
            engine,
            "SELECT actor FROM ticket_transition WHERE ticket_id = :id",
            id=uuid.UUID(ticket["id"]),
        )
        assert sorted(row.actor for row in rows) == ["client:riga-platform", f"person:{TECHNICIAN}"]
