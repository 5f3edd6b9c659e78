"""Access: who may report for which device, who sees which tickets and comments, and bad
input (unknown devices, ambiguous tags, photos that are too big, too many or not images)."""

from __future__ import annotations

import hashlib
import io
import uuid

import httpx
from PIL import Image

from shared_kit.testing import images
from shared_kit.testing.http import bearer, problem

from .conftest import (
    API,
    CHILD,
    GUARDIAN,
    JPEG,
    OTHER_CHILD,
    PNG,
    VALMIERA,
    VALMIERA_SCHOOL,
    World,
    contract_event,
)


class TestReportingNeedsARelation:
    async def test_guardian_learner_and_staff_report_for_their_devices(self, world: World) -> None:
        device, _ = await world.lent()
        by_guardian = await world.report(world.tokens.guardian, device)
        assert by_guardian["reporter_kind"] == "guardian"
        assert by_guardian["reporter_id"] == GUARDIAN
        assert by_guardian["municipality_code"] == "0010000"
        by_learner = await world.report(world.tokens.learner, device, category="keyboard")
        assert by_learner["reporter_kind"] == "learner"
        by_teacher = await world.report(world.tokens.teacher_a, device, category="battery_charger")
        assert by_teacher["reporter_kind"] == "school_staff"
        by_technician = await world.report(world.tokens.technician, device, category="other")
        assert by_technician["reporter_kind"] == "support"

    async def test_a_guardian_of_the_learner_who_is_not_the_borrower_may_report(
        self, world: World
    ) -> None:
        device, _ = await world.lent(borrower=str(uuid.uuid4()), learner=CHILD)
        ticket = await world.report(world.tokens.guardian, device)
        assert ticket["reporter_kind"] == "guardian" and ticket["learner_id"] == CHILD

    async def test_no_relation_is_403(self, world: World) -> None:
        device, _ = await world.lent()
        tokens = world.tokens
        for token in (
            tokens.other_guardian,
            tokens.other_learner,
            tokens.school_b,
            tokens.valmiera_technician,
            tokens.analyst,
        ):
            body = {"device_id": device, "category": "screen", "description": "x"}
            r = await world.client.post(API, json=body, headers=bearer(token))
            expected = "forbidden" if token == tokens.analyst else "no-relation-to-device"
            problem(r, 403, expected)

    async def test_the_relation_ends_with_the_loan(self, world: World) -> None:
        device, contract = await world.lent()
        await world.handle(
            contract_event(
                "returned",
                contract_id=contract,
                device_id=device,
                condition="good",
                notes=None,
                photo_ids=[],
            )
        )
        r = await world.client.post(
            API,
            json={"device_id": device, "category": "screen", "description": "x"},
            headers=bearer(world.tokens.guardian),
        )
        problem(r, 403, "no-relation-to-device")

    async def test_unknown_device_is_404_and_bad_bodies_are_422(self, world: World) -> None:
        guardian = bearer(world.tokens.guardian)
        r = await world.client.post(
            API,
            json={"device_id": str(uuid.uuid4()), "category": "screen", "description": "x"},
            headers=guardian,
        )
        problem(r, 404, "device-not-found")
        r = await world.client.post(
            API,
            json={"asset_tag": "NOPE-1", "category": "screen", "description": "x"},
            headers=guardian,
        )
        problem(r, 404, "device-not-found")
        for body in [
            {"category": "screen", "description": "no device"},
            {"asset_tag": "A-1", "device_id": str(uuid.uuid4()), "category": "screen",
             "description": "both"},
            {"asset_tag": "A-1", "category": "broken", "description": "x"},
            {"asset_tag": "A-1", "category": "screen", "description": ""},
            {"asset_tag": "A-1", "category": "screen", "description": "x", "severity": "urgent"},
            {"asset_tag": "A-1", "category": "screen", "description": "x",
             "police_report_number": "P-1"},
            {"asset_tag": "A-1", "category": "screen", "description": "x", "colour": "red"},
            {"asset_tag": "A-1", "category": "lost", "description": "x", "repair": True},
        ]:  # fmt: skip
            r = await world.client.post(API, json=body, headers=guardian)
            problem(r, 422, "validation")

    async def test_asset_tag_picks_the_device_you_are_related_to(self, world: World) -> None:
        mine, _ = await world.lent(tag="TAG-77")
        await world.device(tag="TAG-77", municipality=VALMIERA, institution=VALMIERA_SCHOOL)
        ticket = await world.report(world.tokens.guardian, None, asset_tag="TAG-77")
        assert ticket["device_id"] == mine and ticket["asset_tag"] == "TAG-77"
        r = await world.client.post(
            API,
            json={"asset_tag": "TAG-77", "category": "screen", "description": "x"},
            headers=bearer(world.tokens.platform),
        )
        body = problem(r, 409, "ambiguous-asset-tag")
        assert len(body["device_ids"]) == 2
        r = await world.client.post(
            API,
            json={"asset_tag": "TAG-77", "category": "screen", "description": "x"},
            headers=bearer(world.tokens.other_guardian),
        )
        problem(r, 403, "no-relation-to-device")


class TestSeeing:
    async def test_reporters_see_their_own_staff_their_tenancy(self, world: World) -> None:
        device, _ = await world.lent()
        other_device, _ = await world.lent(borrower=str(uuid.uuid4()), learner=OTHER_CHILD)
        mine = await world.report(world.tokens.guardian, device)
        theirs = await world.report(world.tokens.other_guardian, other_device)
        elsewhere = await world.report(
            world.tokens.valmiera,
            await world.device(municipality=VALMIERA, institution=VALMIERA_SCHOOL),
        )

        async def ids(token: str, **params: str) -> set[str]:
            r = await world.client.get(API, params=params, headers=bearer(token))
            assert r.status_code == 200, r.text
            return {t["id"] for t in r.json()["items"]}

        assert await ids(world.tokens.guardian) == {mine["id"]}
        assert await ids(world.tokens.learner) == set()  # the guardian reported it
        assert await ids(world.tokens.teacher_a) == {mine["id"], theirs["id"]}
        assert await ids(world.tokens.school_b) == set()
        assert await ids(world.tokens.technician) == {mine["id"], theirs["id"]}
        assert await ids(world.tokens.riga_reader) == {mine["id"], theirs["id"]}
        assert await ids(world.tokens.valmiera) == {elsewhere["id"]}
        assert len(await ids(world.tokens.platform)) == 3

        r = await world.client.get(f"{API}/{theirs['id']}", headers=bearer(world.tokens.guardian))
        problem(r, 403, "tenant-forbidden")
        r = await world.client.get(f"{API}/{uuid.uuid4()}", headers=bearer(world.tokens.guardian))
        problem(r, 404, "ticket-not-found")
        r = await world.client.get(API, headers=bearer(world.tokens.analyst))
        problem(r, 403, "forbidden")
        r = await world.client.get(API)
        problem(r, 401, "unauthorized")


class TestInternalComments:
    async def test_reporters_neither_see_nor_write_internal_comments(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        url = f"{API}/{ticket['id']}/comments"
        tech, guardian = bearer(world.tokens.technician), bearer(world.tokens.guardian)
        r = await world.client.post(
            url, json={"body": "Probably dropped", "visibility": "internal"}, headers=tech
        )
        assert r.status_code == 201, r.text
        world.clock.advance(minutes=5)
        r = await world.client.post(url, json={"body": "We will call you"}, headers=tech)
        assert r.status_code == 201, r.text
        world.clock.advance(minutes=5)
        r = await world.client.post(url, json={"body": "Thanks"}, headers=guardian)
        assert r.status_code == 201 and r.json()["author_is_staff"] is False

        r = await world.client.get(url, headers=guardian)
        assert [c["body"] for c in r.json()["items"]] == ["We will call you", "Thanks"]
        problem(
            await world.client.get(url, params={"visibility": "internal"}, headers=guardian),
            403,
            "internal-comments-forbidden",
        )
        problem(
            await world.client.post(
                url, json={"body": "sneaky", "visibility": "internal"}, headers=guardian
            ),
            403,
            "internal-comments-forbidden",
        )
        teacher = bearer(world.tokens.teacher_a)
        r = await world.client.get(url, headers=teacher)
        assert len(r.json()["items"]) == 2  # teachers see public comments only
        r = await world.client.get(url, headers=bearer(world.tokens.school_a))
        assert len(r.json()["items"]) == 3  # the school's administrators see internal ones
        r = await world.client.get(url, params={"visibility": "internal"}, headers=tech)
        assert [c["body"] for c in r.json()["items"]] == ["Probably dropped"]


class TestPhotos:
    async def test_photo_size_type_and_count_are_checked(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        url = f"{API}/{ticket['id']}/photos"
        guardian = bearer(world.tokens.guardian)

        async def upload(*files: tuple[str, bytes, str]) -> httpx.Response:
            return await world.client.post(
                url, files=[("photos", f) for f in files], headers=guardian
            )

        r = await upload(("a.png", PNG, "image/png"), ("b.jpg", JPEG, "image/jpeg"))
        assert r.status_code == 201, r.text
        assert [p["media_type"] for p in r.json()] == ["image/png", "image/jpeg"]
        first = r.json()[0]["id"]
        problem(
            await upload(("big.png", PNG + b"\x00" * 4096, "image/png")), 413, "payload-too-large"
        )
        problem(
            await upload(("doc.pdf", b"%PDF-1.7 hello", "application/pdf")), 415, "invalid-photo"
        )
        problem(await upload(("fake.png", b"GIF89a" + PNG, "image/png")), 415, "invalid-photo")
        problem(await upload(("lie.png", JPEG, "image/png")), 415, "invalid-photo")
        problem(
            await upload(("c.png", PNG, "image/png"), ("d.png", PNG, "image/png")),
            422,
            "too-many-photos",
        )
        r = await upload(("c.png", PNG, "image/png"))
        assert r.status_code == 201 and r.json()[0]["position"] == 2

        r = await world.client.get(url, headers=bearer(world.tokens.technician))
        assert [p["position"] for p in r.json()] == [0, 1, 2]
        r = await world.client.get(f"{url}/{first}", headers=guardian)
        assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).format == "PNG"
        assert r.headers["content-type"] == "image/png"
        r = await world.client.get(f"{url}/{first}", headers=bearer(world.tokens.other_guardian))
        problem(r, 403, "tenant-forbidden")
        problem(
            await world.client.get(f"{url}/{uuid.uuid4()}", headers=guardian),
            404,
            "photo-not-found",
        )


class TestPhotoContent:
    """A photo is accepted only when it decodes, and is stored re-encoded without metadata."""

    async def test_what_does_not_decode_is_refused_and_nothing_is_stored(
        self, world: World
    ) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        url = f"{API}/{ticket['id']}/photos"
        guardian = bearer(world.tokens.guardian)

        async def upload(*files: tuple[str, bytes, str]) -> httpx.Response:
            return await world.client.post(
                url, files=[("photos", f) for f in files], headers=guardian
            )

        problem(await upload(("a.jpg", images.polyglot(), "image/jpeg")), 415, "invalid-photo")
        body = problem(await upload(("a.heic", images.heic(), "image/heic")), 415, "invalid-photo")
        assert "JPEG, PNG or WebP" in body["detail"]
        cut = images.truncated(images.noisy("JPEG"))
        problem(await upload(("cut.jpg", cut, "image/jpeg")), 422, "unreadable-photo")
        bomb = ("bomb.png", images.png_bomb(), "image/png")
        problem(await upload(bomb), 422, "photo-dimensions-too-large")
        both = (("ok.png", PNG, "image/png"), ("x.jpg", images.polyglot(), "image/jpeg"))
        problem(await upload(*both), 415, "invalid-photo")
        assert (await world.client.get(url, headers=guardian)).json() == []
        r = await upload(("ok.webp", images.webp(), "image/webp"))
        assert r.status_code == 201, r.text
        assert r.json()[0]["media_type"] == "image/webp"

    async def test_stored_photo_has_no_metadata_and_is_served_as_stored(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device)
        url = f"{API}/{ticket['id']}/photos"
        guardian = bearer(world.tokens.guardian)
        files = [
            ("photos", ("../home.html", images.revealing_jpeg((16, 8), 6), "image/jpeg")),
            ("photos", ("ekrāns.jpg", images.jpeg_then_html(), "")),
        ]
        r = await world.client.post(url, files=files, headers=guardian)
        assert r.status_code == 201, r.text
        listed = r.json()
        assert [p["filename"] for p in listed] == ["home.jpg", "ekrāns.jpg"]
        for meta in listed:
            got = await world.client.get(f"{url}/{meta['id']}", headers=guardian)
            assert got.headers["content-type"] == "image/jpeg"
            assert got.headers["x-content-type-options"] == "nosniff"
            assert got.headers["content-disposition"].startswith("inline; filename=")
            assert meta["sha256"] == hashlib.sha256(got.content).hexdigest()
            assert meta["size"] == len(got.content)
            assert b"<html" not in got.content
            image = Image.open(io.BytesIO(got.content))
            assert not image.getexif() and not (
                {"exif", "xmp", "comment", "icc_profile"} & set(image.info)
            )
        rotated = await world.client.get(f"{url}/{listed[0]['id']}", headers=guardian)
        assert Image.open(io.BytesIO(rotated.content)).size == (8, 16)  # orientation applied
        named = await world.client.get(f"{url}/{listed[1]['id']}", headers=guardian)
        assert named.headers["content-disposition"] == (
            "inline; filename=\"ekrans.jpg\"; filename*=UTF-8''ekr%C4%81ns.jpg"
        )


class TestStaffActions:
    async def test_loaner_confirmation_and_claims_need_staff(self, world: World) -> None:
        device, _ = await world.lent()
        ticket = await world.report(world.tokens.guardian, device, category="stolen")
        for path, body in (
            ("loaner", None),
            ("confirm-loss", {}),
            ("insurance-claims", {"insurer": "BTA", "claim_number": "C-1"}),
        ):
            r = await world.client.post(
                f"{API}/{ticket['id']}/{path}", json=body, headers=bearer(world.tokens.guardian)
            )
            problem(r, 403, "action-forbidden")
        r = await world.client.post(
            f"{API}/{ticket['id']}/assign",
            json={"assignee_id": "tech-0001"},
            headers=bearer(world.tokens.school_a),
        )
        problem(r, 403, "action-forbidden")
        r = await world.client.get(
            f"{API}/queues/0010000/summary", headers=bearer(world.tokens.school_a)
        )
        problem(r, 403, "tenant-forbidden")
        r = await world.client.get(
            f"{API}/queues/0010000/summary", headers=bearer(world.tokens.valmiera)
        )
        problem(r, 403, "tenant-forbidden")
