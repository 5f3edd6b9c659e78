"""Returns with photos, early termination, cancellation, expiry and overdue loans."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from jsonschema import Draft202012Validator
from PIL import Image
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from contracts_service.config import ContractsSettings
from contracts_service.models import ContractDocument
from contracts_service.service import lifecycle
from shared_kit.db import session_scope
from shared_kit.events.outbox import OutboxMessage
from shared_kit.testing import images
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer, problem

from .conftest import (
    CONTRACTS,
    GUARDIAN_CODE,
    Tokens,
    World,
    reservation_event,
)

EVENTS = Path(__file__).parents[3] / "contracts" / "events"
PNG = images.png()
JPEG = images.jpeg()


async def outbox(app: FastAPI) -> list[OutboxMessage]:
    """Every event the service wrote, in order."""
    async for session in session_scope(app.state.sessions):
        return list(
            (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.seq))).all()
        )
    return []


async def types_of(app: FastAPI, contract_id: str) -> list[str]:
    """Event types written for one contract, in order (without the prefix)."""
    rows = await outbox(app)
    return [r.event_type.split(".")[-2] for r in rows if r.key == contract_id]


async def sweep(app: FastAPI) -> dict[str, int]:
    """One run of the expiry job at the app's clock."""
    counts: dict[str, int] = {}
    async for session in session_scope(app.state.sessions):  # commits when the loop ends
        counts = await lifecycle.sweep(session, settings=app.state.settings, now=app.state.clock())
    return counts


async def give_back(
    client: httpx.AsyncClient,
    contract: dict[str, Any],
    token: str,
    condition: str = "good",
    **kw: Any,
) -> httpx.Response:
    """Record a return through the API."""
    return await client.post(
        f"{CONTRACTS}/{contract['id']}/return",
        data={"condition": condition, **kw.pop("data", {})},
        headers=bearer(token),
        **kw,
    )


class TestReturn:
    async def test_damaged_return_with_photos(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens, app: FastAPI
    ) -> None:
        active = await world.active()
        photos = [
            ("photos", ("screen.png", PNG, "image/png")),
            ("photos", ("side.jpg", JPEG, "image/jpeg")),
        ]
        r = await give_back(
            client,
            active,
            tokens.school_a,
            "damaged",
            data={"notes": "Ieplaisājis ekrāns"},
            files=photos,
        )
        assert r.status_code == 201, r.text
        record = r.json()
        assert record["condition"] == "damaged" and len(record["photos"]) == 2
        assert [p["media_type"] for p in record["photos"]] == ["image/png", "image/jpeg"]
        contract = await world.get(active["id"])
        assert contract["state"] == "returned" and contract["returned_at"]
        photo = record["photos"][0]
        got = await client.get(
            f"{CONTRACTS}/{active['id']}/return/photos/{photo['id']}",
            headers=bearer(tokens.school_a),
        )
        assert got.status_code == 200 and Image.open(io.BytesIO(got.content)).format == "PNG"
        assert got.headers["content-type"] == "image/png"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"].startswith('inline; filename="screen.png"')
        assert photo["sha256"] == hashlib.sha256(got.content).hexdigest()
        read = await client.get(f"{CONTRACTS}/{active['id']}/return", headers=bearer(tokens.riga))
        assert read.json()["photos"] == record["photos"]
        problem(
            await client.get(
                f"{CONTRACTS}/{active['id']}/return", headers=bearer(tokens.guardian())
            ),
            403,
            "not-the-lender",
        )
        (returned,) = [r for r in await outbox(app) if r.event_type.endswith("returned.v1")]
        data = json.loads(returned.payload)
        assert data["condition"] == "damaged" and data["notes"] == "Ieplaisājis ekrāns"
        assert data["photo_ids"] == [p["id"] for p in record["photos"]]
        assert data["device_id"] == active["device_id"]
        problem(await give_back(client, active, tokens.school_a), 409, "illegal-state")

    async def test_returning_a_contract_that_is_not_active(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await world.register_lender()
        contract = await world.draft()
        body = problem(await give_back(client, contract, tokens.school_a), 409, "illegal-state")
        assert "awaiting_borrower" in body["detail"]

    async def test_photos_are_checked(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens, app: FastAPI
    ) -> None:
        active = await world.active()
        fake = [("photos", ("x.png", b"GIF89a" + b"\x00" * 20, "image/png"))]
        problem(await give_back(client, active, tokens.school_a, files=fake), 415, "invalid-photo")
        lying = [("photos", ("x.png", JPEG, "image/png"))]
        problem(await give_back(client, active, tokens.school_a, files=lying), 415, "invalid-photo")
        pdf = [("photos", ("x.pdf", b"%PDF-1.7", "application/pdf"))]
        problem(await give_back(client, active, tokens.school_a, files=pdf), 415, "invalid-photo")
        limit = app.state.settings.photo_max_bytes
        big = [("photos", ("big.png", PNG + b"\x00" * limit, "image/png"))]
        problem(
            await give_back(client, active, tokens.school_a, files=big), 413, "payload-too-large"
        )
        many = [("photos", (f"{i}.png", PNG, "image/png")) for i in range(6)]
        problem(
            await give_back(client, active, tokens.school_a, files=many), 422, "too-many-photos"
        )
        for name, content, status, type_ in (
            ("x.jpg", images.polyglot(), 415, "invalid-photo"),
            ("x.heic", images.heic(), 415, "invalid-photo"),
            ("x.jpg", images.truncated(images.noisy("JPEG")), 422, "unreadable-photo"),
            ("x.png", images.png_bomb(), 422, "photo-dimensions-too-large"),
        ):
            files = [("photos", ("ok.png", PNG, "image/png")), ("photos", (name, content, ""))]
            r = await give_back(client, active, tokens.school_a, files=files)
            problem(r, status, type_)
        problem(await give_back(client, active, tokens.school_a, "broken"), 422, "validation")
        problem(await give_back(client, active, tokens.guardian()), 403, "not-the-lender")
        assert (await world.get(active["id"]))["state"] == "active"
        r = await give_back(client, active, tokens.riga_platform, "accessories_missing")
        assert r.status_code == 201, r.text
        assert r.json()["recorded_by"] == "client:riga-platform"  # the kit's actor names

    async def test_photos_are_stored_without_metadata(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        active = await world.active()
        files = [
            ("photos", ("mājās.jpg", images.revealing_jpeg((16, 8), 6), "image/jpeg")),
            ("photos", ("page.html", images.jpeg_then_html(), "image/jpeg")),
        ]
        r = await give_back(client, active, tokens.school_a, "damaged", files=files)
        assert r.status_code == 201, r.text
        stored = r.json()["photos"]
        assert [p["filename"] for p in stored] == ["mājās.jpg", "page.jpg"]
        url = f"{CONTRACTS}/{active['id']}/return/photos"
        for meta in stored:
            got = await client.get(f"{url}/{meta['id']}", headers=bearer(tokens.school_a))
            assert got.headers["x-content-type-options"] == "nosniff"
            assert meta["size"] == len(got.content) and b"<html" not in got.content
            image = Image.open(io.BytesIO(got.content))
            assert not image.getexif() and "icc_profile" not in image.info
        upright = await client.get(f"{url}/{stored[0]['id']}", headers=bearer(tokens.school_a))
        assert Image.open(io.BytesIO(upright.content)).size == (8, 16)
        assert upright.headers["content-disposition"] == (
            "inline; filename=\"majas.jpg\"; filename*=UTF-8''m%C4%81j%C4%81s.jpg"
        )


class TestTermination:
    async def test_terminate_then_return(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens, app: FastAPI
    ) -> None:
        active = await world.active()
        url = f"{CONTRACTS}/{active['id']}/terminate"
        problem(
            await client.post(
                url, json={"reason": "Mācās citur"}, headers=bearer(tokens.guardian())
            ),
            403,
            "not-the-lender",
        )
        r = await client.post(
            url, json={"reason": "Izglītojamais mācās citā skolā"}, headers=bearer(tokens.school_a)
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "terminated" and r.json()["end_reason"].startswith(
            "Izglītojamais"
        )
        problem(
            await client.post(url, json={"reason": "again"}, headers=bearer(tokens.school_a)),
            409,
            "illegal-state",
        )
        assert (await give_back(client, active, tokens.school_a)).status_code == 201
        contract = await world.get(active["id"])
        assert contract["state"] == "terminated" and contract["returned_at"]
        assert await types_of(app, active["id"]) == [
            "drafted",
            "signed_by_borrower",
            "activated",
            "terminated",
            "returned",
        ]

    async def test_terminating_a_draft_is_refused(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await world.register_lender()
        contract = await world.draft()
        r = await client.post(
            f"{CONTRACTS}/{contract['id']}/terminate",
            json={"reason": "nevajag"},
            headers=bearer(tokens.school_a),
        )
        problem(r, 409, "illegal-state")


class TestExpiryAndOverdue:
    async def test_unsigned_contracts_expire_after_the_deadline(
        self, world: World, app: FastAPI, clock: TestClock
    ) -> None:
        await world.register_lender()
        contract = await world.draft()
        clock.advance(days=13, hours=23)
        assert (await sweep(app))["contracts_expired"] == 0
        clock.advance(hours=2)
        assert (await sweep(app))["contracts_expired"] == 1
        assert (await sweep(app))["contracts_expired"] == 0
        expired = await world.get(contract["id"])
        assert expired["state"] == "expired" and expired["expired_at"]
        problem(await world.sign(contract), 409, "illegal-state")
        assert await types_of(app, contract["id"]) == ["drafted", "expired"]

    async def test_ended_loans_become_overdue_once(
        self,
        world: World,
        client: httpx.AsyncClient,
        app: FastAPI,
        clock: TestClock,
        tokens: Tokens,
    ) -> None:
        active = await world.active()
        clock.set(clock.now.replace(year=2027, month=6, day=29))
        assert (await sweep(app))["contracts_overdue"] == 0
        clock.advance(days=2)
        assert (await sweep(app))["contracts_overdue"] == 1
        assert (await sweep(app))["contracts_overdue"] == 0
        contract = await world.get(active["id"])
        assert contract["overdue"] and contract["overdue_since"]
        listed = await client.get(f"{CONTRACTS}?overdue=true", headers=bearer(tokens.school_a))
        assert [c["id"] for c in listed.json()["items"]] == [active["id"]]
        assert (await give_back(client, active, tokens.school_a)).status_code == 201
        assert not (await world.get(active["id"]))["overdue"]
        assert (await types_of(app, active["id"]))[-2:] == ["overdue", "returned"]


class TestReservationGoesAway:
    async def test_cancelled_reservation_cancels_an_unsigned_contract(
        self, world: World, app: FastAPI
    ) -> None:
        await world.register_lender()
        contract = await world.draft()
        assert (await world.sign(contract)).status_code == 200
        evt = reservation_event(
            "cancelled",
            uuid.UUID(contract["reservation_id"]),
            uuid.UUID(contract["device_id"]),
            world.people,
        )
        await world.handle(evt)
        await world.handle(evt)  # a second delivery changes nothing
        cancelled = await world.get(contract["id"])
        assert (
            cancelled["state"] == "cancelled" and cancelled["end_reason"] == "reservation.cancelled"
        )
        assert await types_of(app, contract["id"]) == ["drafted", "signed_by_borrower", "cancelled"]

    async def test_an_active_contract_stays(self, world: World) -> None:
        active = await world.active()
        evt = reservation_event(
            "expired",
            uuid.UUID(active["reservation_id"]),
            uuid.UUID(active["device_id"]),
            world.people,
        )
        await world.handle(evt)
        assert (await world.get(active["id"]))["state"] == "active"


class TestEventsOut:
    async def test_every_event_matches_its_schema_and_carries_no_personal_code(
        self,
        world: World,
        client: httpx.AsyncClient,
        tokens: Tokens,
        app: FastAPI,
        clock: TestClock,
    ) -> None:
        active = await world.active()
        await give_back(client, active, tokens.school_a, "damaged")
        other = await world.active()
        await client.post(
            f"{CONTRACTS}/{other['id']}/terminate",
            json={"reason": "pārcelšanās"},
            headers=bearer(tokens.school_a),
        )
        late = await world.active()
        expiring = await world.draft()
        cancelled = await world.draft()
        await world.handle(
            reservation_event(
                "rejected",
                uuid.UUID(cancelled["reservation_id"]),
                uuid.UUID(cancelled["device_id"]),
                world.people,
            )
        )
        clock.set(clock.now.replace(year=2027, month=7, day=2))
        await sweep(app)
        rows = await outbox(app)
        assert {r.event_type.split(".")[-2] for r in rows} == {
            "drafted",
            "signed_by_borrower",
            "activated",
            "returned",
            "terminated",
            "expired",
            "overdue",
            "cancelled",
        }
        for row in rows:
            schema = json.loads((EVENTS / f"{row.event_type}.json").read_text())
            payload = json.loads(row.payload)
            Draft202012Validator(schema).validate(payload)
            assert GUARDIAN_CODE not in row.payload.decode() and GUARDIAN_CODE not in str(
                row.headers
            )
            assert row.key == payload["contract_id"]
        assert {late["id"], expiring["id"]} <= {
            r.key for r in rows if r.event_type.endswith(("overdue.v1", "expired.v1"))
        }


class TestImmutability:
    async def test_documents_cannot_be_changed_or_deleted(
        self, world: World, app: FastAPI, settings: ContractsSettings
    ) -> None:
        await world.register_lender()
        await world.draft()
        for statement in (
            "UPDATE contract_document SET sha256 = 'x'",
            "DELETE FROM contract_document",
        ):
            try:
                async for session in session_scope(app.state.sessions):
                    await session.execute(text(statement))
            except DBAPIError as exc:
                assert "immutable" in str(exc)
            else:
                raise AssertionError(f"{statement} was allowed")
        async for session in session_scope(app.state.sessions):
            assert len((await session.scalars(select(ContractDocument))).all()) == 1
