"""Report a problem and follow the ticket, on the whole system: a loan is made through the APIs
with the demo people's own tokens (reservation, approval, both signatures), then the guardian
reports a broken screen in the browser, with and without JavaScript, follows the ticket,
answers and adds a photo; every refused form comes back with its messages; another family
finds nothing; axe on every page, at 320 px without sideways scrolling.

The stack is shared with the other families' modules (`SHARED_STACK`): the two families here
are this module's own (Santa Vilka with Alise; Māris Siliņš with Toms, who has no loan)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll
from shared_kit.testing.stack import AsyncApi

from .conftest import System, api_as, context_without_js, log_in

SHARED_STACK = "families"
GUARDIAN = "report_guardian"  # Santa Vilka, Alise's mother
OTHER_GUARDIAN = "report_other_guardian"  # Māris Siliņš, Toms' father (nothing lent)
DEMO_SCHOOL = "3113900101"  # Alise's school
SHOTS = os.environ.get("PORTAL_SHOTS")  # a folder: screenshots of the pages, to look at


def png(colour: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    """A small real JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (80, 60), "blue").save(out, "JPEG")
    return out.getvalue()


def claims(token: str) -> dict[str, Any]:
    """The token's claims (not verified: the services do that)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def eventually(check: Any, timeout_s: float = 40) -> Any:
    """The check's first truthy answer, polled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        assert loop.time() < deadline, f"{check} did not happen in {timeout_s} s"
        await asyncio.sleep(0.3)


async def sign(api: AsyncApi, contract_id: str, action: str) -> dict[str, Any]:
    """Sign (or countersign) the contract's current version with the current consent."""
    docs = await api.ok("GET", "contracts", f"/{contract_id}/documents")
    consent = await api.ok("GET", "contracts", "/consent")
    body = {"document_sha256": docs[-1]["sha256"], "consent_version": consent["version"]}
    return await api.ok("POST", "contracts", f"/{contract_id}/{action}", json=body)


async def make_loan(guardian: AsyncApi, school: AsyncApi, learner: str) -> dict[str, Any]:
    """A device lent to the learner: reserved, approved, signed by both; the active contract."""
    body = {"learner_id": learner, "institution_number": DEMO_SCHOOL}
    reservation = await guardian.ok("POST", "reservations", "", json=body)
    if reservation["state"] == "requested":
        reservation = await school.ok(
            "POST", "reservations", f"/{reservation['id']}/approve", json={}
        )
    assert reservation["state"] == "approved", reservation

    async def drafted() -> Any:
        page = await guardian.ok(
            "GET", "contracts", "", params={"reservation_id": reservation["id"]}
        )
        ready = [c for c in page["items"] if c["state"] == "awaiting_borrower"]
        return ready[0] if ready else None

    contract = await eventually(drafted)
    await sign(guardian, contract["id"], "sign")
    active = await sign(school, contract["id"], "countersign")
    assert active["state"] == "active", active
    return active


async def on_loan_everywhere(school: AsyncApi, device_id: str) -> None:
    """The inventory has the device on loan (the services have heard of the contract)."""

    async def on_loan() -> bool:
        device = await school.ok("GET", "inventory", f"/devices/{device_id}")
        return bool(device["status"] == "on_loan")

    await eventually(on_loan)


async def check_page(page: Page, name: str, *, scripts: bool = True) -> None:
    """axe finds no WCAG 2.1 A/AA violation; nothing wider than the screen; a screenshot.
    Without JavaScript only the screenshot: axe and the width need scripts in the page (the
    same pages are checked with JavaScript on)."""
    if SHOTS:
        width = page.viewport_size["width"] if page.viewport_size else 0
        await page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"), full_page=True)
    if not scripts:
        return
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)


async def error_summary(page: Page) -> str:
    """The error summary's text (it must be there)."""
    summary = page.get_by_role("alert")
    await summary.wait_for()
    return await summary.inner_text()


async def choose_photos(page: Page, label: str, files: list[dict[str, Any]]) -> None:
    """Choose files as a person does: the labelled control opens the file chooser (the
    browser's own input, or GOV.UK's enhanced button when JavaScript runs)."""
    # The design system's script swaps the browser's input for its button as the page loads:
    # wait for it, then click whichever of the two a person sees.
    await page.wait_for_load_state("load")
    async with page.expect_file_chooser() as chooser:
        await page.get_by_label(label).filter(visible=True).first.click()
    await (await chooser.value).set_files(files)  # type: ignore[arg-type]


def photo_file(name: str, content: bytes, mime: str) -> dict[str, Any]:
    """A file for Playwright's set_input_files."""
    return {"name": name, "mimeType": mime, "buffer": content}


@pytest.fixture(scope="module")
async def loans(system: System) -> dict[str, Any]:
    """One device lent to the guardian's child at the demo school: Alise's."""
    guardian = await api_as(system, GUARDIAN)
    school = await api_as(system, "school_admin")
    learners = claims(guardian.headers["Authorization"].split()[1])["learners"]
    me = await guardian.ok("GET", "gateway", "/me")
    alise = next(c["id"] for c in me["children"] if c["given_name"] == "Alise")
    assert alise in learners
    contract = await make_loan(guardian, school, alise)
    await on_loan_everywhere(school, contract["device_id"])
    return {"contract": contract, "device_id": contract["device_id"]}


@pytest.fixture(scope="module")
async def api_ticket(system: System, loans: dict[str, Any]) -> dict[str, Any]:
    """A ticket the guardian reported through the API (once the tickets service knows the loan)."""
    guardian = await api_as(system, GUARDIAN)
    body = {"device_id": loans["device_id"], "category": "keyboard", "description": "Taustiņi"}

    async def reported() -> Any:
        answer = await guardian.call("POST", "tickets", "", json=body)
        return answer.json() if answer.status_code == 201 else None

    return dict(await eventually(reported))


async def report_in_browser(
    page: Page,
    system: System,
    description: str,
    photos: list[dict[str, Any]],
    shots: str = "",
    scripts: bool = True,
) -> str:
    """The whole report flow as the guardian does it; the ticket number shown at the end."""
    await page.goto(f"{system.portal}/families/tickets")
    await check_page(page, f"{shots}tickets", scripts=scripts)
    await page.get_by_role("button", name="Ziņot par problēmu").click()
    await page.get_by_role("heading", name="Kurai ierīcei ir problēma?").wait_for()
    await check_page(page, f"{shots}device", scripts=scripts)
    await page.get_by_role("radio").first.check()
    await page.get_by_role("button", name="Turpināt").click()
    await page.get_by_role("heading", name="Kāda ir problēma?").wait_for()
    await check_page(page, f"{shots}category", scripts=scripts)
    await page.get_by_role("radio", name="Ekrāns ir saplīsis vai neko nerāda").check()
    await page.get_by_role("button", name="Turpināt").click()
    await page.get_by_label("Aprakstiet problēmu").fill(description)
    await check_page(page, f"{shots}description", scripts=scripts)
    await page.get_by_role("button", name="Turpināt").click()
    await page.get_by_role("heading", name="Pievienojiet problēmas fotoattēlus").wait_for()
    await check_page(page, f"{shots}photos", scripts=scripts)
    if photos:
        await choose_photos(page, "Problēmas fotoattēli", photos)
        await page.get_by_role("button", name="Pievienot šos fotoattēlus").click()
        await page.get_by_text(photos[0]["name"].rsplit(".", 1)[0]).first.wait_for()
        await check_page(page, f"{shots}photos-added", scripts=scripts)
    await page.get_by_role("button", name="Turpināt").click()
    await page.get_by_role(
        "heading", name="Pārbaudiet atbildes pirms pieteikuma nosūtīšanas"
    ).wait_for()
    await check_page(page, f"{shots}check", scripts=scripts)
    await page.get_by_role("button", name="Nosūtīt pieteikumu").click()
    panel = page.get_by_role("heading", name="Pieteikums nosūtīts")
    await panel.wait_for()
    await check_page(page, f"{shots}sent", scripts=scripts)
    text = await page.locator(".govuk-panel__body").inner_text()
    number = re.search(r"\d+", text)
    assert number, text
    return number.group(0)


class TestReportAndFollow:
    async def test_guardian_reports_a_broken_screen_with_a_photo_and_follows_it(
        self, system: System, context: BrowserContext, loans: dict[str, Any]
    ) -> None:
        page = await context.new_page()
        await page.set_viewport_size({"width": 320, "height": 800})
        await log_in(page, system, GUARDIAN)
        description = "Ekrāns mirgo un labajā pusē ir plaisa."
        number = await report_in_browser(
            page, system, description, [photo_file("ekrans.png", png(), "image/png")]
        )

        guardian = await api_as(system, GUARDIAN)
        mine = (await guardian.ok("GET", "tickets", ""))["items"]
        (ticket,) = [t for t in mine if str(t["number"]) == number]
        assert ticket["category"] == "screen"
        assert ticket["description"] == description
        assert ticket["device_id"] == loans["device_id"]
        photos = await guardian.ok("GET", "tickets", f"/{ticket['id']}/photos")
        assert [p["media_type"] for p in photos] == ["image/png"]
        assert photos[0]["filename"] == "ekrans.png"

        # Support answers publicly and notes something internal: only the first is shown.
        technician = await api_as(system, "technician")
        await technician.ok("POST", "tickets", f"/{ticket['id']}/comments",
                            json={"body": "Vai ierīce ir nokritusi?"})  # fmt: skip
        await technician.ok("POST", "tickets", f"/{ticket['id']}/comments",
                            json={"body": "IEKŠĒJĀ PIEZĪME", "visibility": "internal"})  # fmt: skip

        await page.get_by_role("link", name=f"Sekot pieteikumam Nr. {number}").click()
        await page.get_by_role("heading", name=f"Pieteikums Nr. {number}").wait_for()
        await page.get_by_text("Vai ierīce ir nokritusi?").wait_for()
        assert await page.get_by_text("IEKŠĒJĀ PIEZĪME").count() == 0
        await check_page(page, "ticket")

        await page.get_by_label("Jūsu atbilde").fill("Nē, tā nav kritusi.")
        await page.get_by_role("button", name="Nosūtīt atbildi").click()
        await page.get_by_text("Nē, tā nav kritusi.").wait_for()
        await choose_photos(
            page, "Pievienot fotoattēlus", [photo_file("otrs.jpg", jpeg(), "image/jpeg")]
        )
        await page.get_by_role("button", name="Augšupielādēt fotoattēlus").click()
        await page.get_by_role("link", name="Fotoattēls 2").wait_for()
        await check_page(page, "ticket-replied")

        comments = await guardian.ok("GET", "tickets", f"/{ticket['id']}/comments")
        assert [c["body"] for c in comments["items"]][-1] == "Nē, tā nav kritusi."
        photos = await guardian.ok("GET", "tickets", f"/{ticket['id']}/photos")
        assert [p["media_type"] for p in photos] == ["image/png", "image/jpeg"]

        # The photo opens through the portal; the list shows the ticket.
        answer = await page.request.get(
            f"{system.portal}/families/tickets/{ticket['id']}/photos/{photos[0]['id']}"
        )
        assert answer.status == 200 and answer.headers["content-type"] == "image/png"
        await page.goto(f"{system.portal}/families/tickets")
        await page.get_by_role("heading", name=f"Pieteikums Nr. {number}").wait_for()
        await check_page(page, "tickets")

    async def test_the_report_works_without_javascript(
        self, system: System, browser: Browser, loans: dict[str, Any]
    ) -> None:
        async with context_without_js(browser, viewport={"width": 1280, "height": 900}) as ctx:
            page = await ctx.new_page()
            await log_in(page, system, GUARDIAN)
            number = await report_in_browser(
                page,
                system,
                "Neieslēdzas ekrāns.",
                [photo_file("a.png", png("green"), "image/png")],
                shots="nojs-",
                scripts=False,
            )
        guardian = await api_as(system, GUARDIAN)
        mine = (await guardian.ok("GET", "tickets", ""))["items"]
        (ticket,) = [t for t in mine if str(t["number"]) == number]
        assert ticket["description"] == "Neieslēdzas ekrāns."
        assert len(await guardian.ok("GET", "tickets", f"/{ticket['id']}/photos")) == 1


class TestBadInput:
    async def test_each_step_shows_the_summary_and_the_field_message(
        self, system: System, context: BrowserContext, api_ticket: dict[str, Any]
    ) -> None:
        page = await context.new_page()
        await page.set_viewport_size({"width": 320, "height": 800})
        await log_in(page, system, GUARDIAN)
        await page.goto(f"{system.portal}/families/report")

        await page.get_by_role("button", name="Turpināt").click()  # no device
        assert "Izvēlieties ierīci" in await error_summary(page)
        await page.get_by_role("link", name=re.compile("Izvēlieties ierīci")).wait_for()
        await check_page(page, "device-error")
        await page.get_by_role("radio").first.check()
        await page.get_by_role("button", name="Turpināt").click()

        await page.get_by_role("button", name="Turpināt").click()  # no category
        assert "Izvēlieties, kāda ir problēma" in await error_summary(page)
        await check_page(page, "category-error")
        await page.get_by_role("radio", name="Kas cits").check()
        await page.get_by_role("button", name="Turpināt").click()

        await page.get_by_role("button", name="Turpināt").click()  # empty description
        assert "Aprakstiet problēmu" in await error_summary(page)
        await check_page(page, "description-error")
        await page.get_by_label("Aprakstiet problēmu").fill("Pazudis lādētājs.")
        await page.get_by_role("button", name="Turpināt").click()

        text = [photo_file("zinas.txt", b"not a photo", "text/plain")]
        await choose_photos(page, "Problēmas fotoattēli", text)
        await page.get_by_role("button", name="Pievienot šos fotoattēlus").click()
        assert "zinas.txt" in await error_summary(page)
        await check_page(page, "photos-error")
        six = [photo_file(f"f{i}.png", png(size=(20 + i, 20)), "image/png") for i in range(6)]
        await choose_photos(page, "Problēmas fotoattēli", six)
        await page.get_by_role("button", name="Pievienot šos fotoattēlus").click()
        assert "ne vairāk kā 5" in await error_summary(page)
        assert await page.get_by_text("f0.png").count() == 0  # none of the six was kept

        # The reply form refuses an empty reply with its message.
        await page.goto(f"{system.portal}/families/tickets/{api_ticket['id']}")
        await page.get_by_role("button", name="Nosūtīt atbildi").click()
        assert "Uzrakstiet atbildi" in await error_summary(page)
        await page.get_by_role("button", name="Augšupielādēt fotoattēlus").click()
        assert "Izvēlieties fotoattēlu" in await error_summary(page)
        await check_page(page, "ticket-error")


class TestAnotherFamily:
    async def test_the_other_guardian_finds_no_ticket_and_no_device(
        self,
        system: System,
        context: BrowserContext,
        loans: dict[str, Any],
        api_ticket: dict[str, Any],
    ) -> None:
        ticket = api_ticket
        page = await context.new_page()
        await log_in(page, system, OTHER_GUARDIAN)
        for path in (f"/families/tickets/{ticket['id']}", f"/families/report/sent/{ticket['id']}"):
            answer = await page.goto(f"{system.portal}{path}")
            assert answer is not None and answer.status == 404, path
            await page.get_by_role("heading", name="Lapa nav atrasta").wait_for()
        await page.goto(f"{system.portal}/families/tickets")
        assert await page.get_by_role("heading", name=re.compile("Pieteikums")).count() == 0
        # No device is lent to this family: the report asks for the sticker's number, and the
        # tickets service refuses the other family's device.
        await page.goto(f"{system.portal}/families/report/device")
        await page.get_by_label("Kāds numurs ir uz ierīces uzlīmes?").fill(
            loans["contract"]["device"]["asset_tag"]
        )
        await page.get_by_role("button", name="Turpināt").click()
        await page.get_by_role("radio", name="Kas cits").check()
        await page.get_by_role("button", name="Turpināt").click()
        await page.get_by_label("Aprakstiet problēmu").fill("Svešs dators.")
        await page.get_by_role("button", name="Turpināt").click()
        await page.get_by_role("button", name="Turpināt").click()
        await page.get_by_role("button", name="Nosūtīt pieteikumu").click()
        assert "jums vai jūsu bērnam" in await error_summary(page)
        await check_page(page, "device-refused")
