"""The technician's pages on the whole system: a family's loan and their problem reports are set
up through the APIs with the demo people's own tokens; the demo technician then works the
tickets in the browser (queue with SLA, assign to me, internal and public comments, statuses,
an insurance claim, a replacement device), with and without JavaScript, and every outcome is
checked through the tickets API. Every page visited is checked with axe, at 320 px too.

The stack is shared with the school administrator's module (`SHARED_STACK`): the family here is
this module's own (Edīte Lūse with Ralfs)."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll
from shared_kit.testing.kafka import eventually
from shared_kit.testing.stack import AsyncApi

from .conftest import System, api_as, approve_at_once, context_without_js, log_in

SHARED_STACK = "school_staff"
GUARDIAN = "support_guardian"  # Edīte Lūse, Ralfs' mother
SCHOOL = "3113900101"  # Ralfs' school
# A folder to keep a screenshot of every checked page in (to look at them), if set.
SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOTS")
shots = iter(range(1000))


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a JWT (read, not verified: the services verify it)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def checked(page: Page, *, javascript: bool = True) -> None:
    """axe finds no WCAG 2.1 A/AA violation, and nothing is wider than the viewport (both need
    the page's JavaScript: without it the page is only kept as a screenshot, if asked; the same
    pages are checked with it)."""
    if not javascript:
        await screenshot(page, "nojs")
        return
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)
    await screenshot(page, str(page.viewport_size["width"] if page.viewport_size else 0))


async def screenshot(page: Page, tag: str) -> None:
    """The whole page as a PNG in `SCREENSHOTS`, when it is set."""
    if SCREENSHOTS:
        name = re.sub(r"[^a-z0-9]+", "-", page.url.split("/", 3)[-1])[:60]
        await page.screenshot(
            path=f"{SCREENSHOTS}/{next(shots):03d}-{tag}-{name}.png", full_page=True
        )


@dataclass
class Family:
    """A guardian with a device on loan to her child, and the people who work on it."""

    guardian: AsyncApi
    technician: AsyncApi
    technician_id: str
    device_id: str

    async def report(self, category: str, description: str) -> dict[str, Any]:
        """The guardian reports a problem with the device on loan (once tickets knows the loan)."""

        async def reported() -> Any:
            body = {"device_id": self.device_id, "category": category, "description": description}
            answer = await self.guardian.call("POST", "tickets", "", json=body)
            return answer.json() if answer.status_code == 201 else None

        return dict(await eventually(reported, timeout_s=60))

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        """The ticket as the technician's API sees it."""
        return dict(await self.technician.ok("GET", "tickets", f"/{ticket_id}"))


async def sign(api: AsyncApi, contract_id: str, action: str) -> None:
    """Sign or countersign the contract's current document."""
    docs = await api.ok("GET", "contracts", f"/{contract_id}/documents")
    body = {"document_sha256": docs[-1]["sha256"], "consent_version": "2026.1"}
    await api.ok("POST", "contracts", f"/{contract_id}/{action}", json=body)


@pytest.fixture(scope="module")
async def family(system: System) -> Family:
    """A reservation, the contract signed by the guardian and countersigned by the school: the
    device is on loan to the guardian's child (all through the APIs, as those people). The
    municipality approves at once (the demo default; the school's module makes requests wait)."""
    await approve_at_once(system)
    guardian = await api_as(system, GUARDIAN)
    guardian_token = guardian.headers["Authorization"].split()[1]
    school = await api_as(system, "school_admin")
    technician = await api_as(system, "technician")
    technician_id = claims_of(technician.headers["Authorization"].split()[1])["sub"]
    child = claims_of(guardian_token)["learners"][0]
    body = {"learner_id": child, "institution_number": SCHOOL}
    reservation = await guardian.ok("POST", "reservations", "", json=body)
    assert reservation["state"] == "approved", reservation

    async def contract() -> Any:
        found = await guardian.ok("GET", "contracts", "")
        return next((c for c in found["items"] if c["reservation_id"] == reservation["id"]), None)

    drafted = await eventually(contract, timeout_s=60)
    await sign(guardian, drafted["id"], "sign")
    await sign(school, drafted["id"], "countersign")
    return Family(guardian, technician, technician_id, reservation["device_id"])


@pytest.fixture
async def phone(context: BrowserContext) -> AsyncIterator[Page]:
    """A page 320 px wide."""
    page = await context.new_page()
    await page.set_viewport_size({"width": 320, "height": 800})
    yield page


async def open_ticket(page: Page, system: System, number: int, *, javascript: bool = True) -> None:
    """From the queue to the ticket, by its title."""
    await page.goto(f"{system.portal}/support")
    await checked(page, javascript=javascript)
    await page.get_by_role("link", name=re.compile(rf"^Nr\. {number}: ")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Pieteikums Nr. {number}")
    await checked(page, javascript=javascript)


async def change_status(page: Page, status: str, **fields: str) -> None:
    """Choose a status (and fill its fields) and send the form."""
    await page.get_by_role("radio", name=status, exact=True).check()
    for label, value in fields.items():
        await page.get_by_label(label, exact=True).fill(value)
    await page.get_by_role("button", name="Mainīt statusu").click()


async def comment(page: Page, text: str, visibility: str) -> None:
    """Write a comment for the family (Publisks) or for staff (Iekšējs)."""
    await page.get_by_label("Jauns komentārs").fill(text)
    await page.get_by_role("radio", name=visibility, exact=True).check()
    await page.get_by_role("button", name="Pievienot komentāru").click()


class TestTechnicianWorksATicket:
    async def test_queue_assign_comments_and_statuses_to_resolved(
        self, system: System, family: Family, phone: Page
    ) -> None:
        ticket = await family.report("screen", "Ekrāns mirgo un pēc brīža paliek melns.")
        page = phone
        await log_in(page, system, "technician")
        await page.get_by_role("link", name="Pieteikumi").click()
        await checked(page)
        card = page.locator(".govuk-summary-card", has_text=f"Nr. {ticket['number']}: Ekrāns")
        await expect(card).to_contain_text("Reakcijas termiņš")
        await expect(card).to_contain_text("Atlikušais laiks: 1 diena 23 stundas")
        await expect(card).to_contain_text("Vēl neviens")
        await open_ticket(page, system, ticket["number"])

        await page.get_by_role("button", name="Piešķirt man").click()
        await expect(page.get_by_text("Pieteikums piešķirts jums.")).to_be_visible()
        await checked(page)
        assert (await family.ticket(ticket["id"]))["assignee_id"] == family.technician_id

        await comment(page, "Jāpārbauda ekrāna kabelis.", "Iekšējs")
        await expect(page.get_by_text("Jūsu komentārs pievienots.")).to_be_visible()
        await comment(page, "Paldies, apskatīsim datoru skolā.", "Publisks")
        await expect(page.get_by_text("Iekšējs: redz tikai darbinieki")).to_have_count(1)
        await expect(page.get_by_text("Publisks: redz ģimene")).to_have_count(1)
        await checked(page)
        seen = await family.guardian.ok("GET", "tickets", f"/{ticket['id']}/comments")
        assert [c["body"] for c in seen["items"]] == ["Paldies, apskatīsim datoru skolā."]
        staff = await family.technician.ok("GET", "tickets", f"/{ticket['id']}/comments")
        assert [c["visibility"] for c in staff["items"]] == ["internal", "public"]

        await change_status(page, "Tiek risināts")
        await expect(page.get_by_text("Statuss nomainīts.")).to_be_visible()
        assert (await family.ticket(ticket["id"]))["state"] == "in_progress"
        resolution = {"Kas izdarīts (ja pieteikums atrisināts)": "Nomainīts ekrāna kabelis."}
        await change_status(page, "Atrisināts", **resolution)
        await expect(page.get_by_text("Statuss nomainīts.")).to_be_visible()
        await checked(page)
        done = await family.ticket(ticket["id"])
        assert done["state"] == "resolved" and done["resolution"] == "Nomainīts ekrāna kabelis."
        assert done["first_response_at"] is not None  # the response clock stopped

        # The service refuses a move its state machine does not allow: the form says so.
        await change_status(page, "Gaida rezerves daļas")
        summary = page.get_by_role("alert")
        await expect(summary).to_contain_text("Radās problēma")
        await expect(summary.get_by_role("link")).to_have_text(re.compile("nevar pārvietot"))
        await expect(page.locator("#to-error")).to_contain_text("nevar pārvietot")
        await checked(page)
        assert (await family.ticket(ticket["id"]))["state"] == "resolved"

        # The same pages on a desktop's width.
        await page.set_viewport_size({"width": 1280, "height": 900})
        await checked(page)
        await page.goto(f"{system.portal}/support?view=done")
        await checked(page)
        await expect(
            page.get_by_role("link", name=f"Nr. {ticket['number']}: Ekrāns")
        ).to_be_visible()

    async def test_bad_input_re_renders_the_forms_with_their_messages(
        self, system: System, family: Family, phone: Page
    ) -> None:
        ticket = await family.report("keyboard", "Nestrādā atstarpes taustiņš.")
        page = phone
        await log_in(page, system, "technician")
        await open_ticket(page, system, ticket["number"])

        await page.get_by_role("button", name="Pievienot komentāru").click()
        await expect(page.get_by_role("alert")).to_contain_text("Ievadiet komentāru")
        await expect(page.locator("#body-error")).to_contain_text("Ievadiet komentāru")
        assert (await page.title()).startswith("Kļūda:")
        await checked(page)

        await page.get_by_role("button", name="Mainīt statusu").click()
        await expect(page.get_by_role("alert")).to_contain_text("Izvēlieties jauno statusu")
        await expect(page.locator("#to-error")).to_contain_text("Izvēlieties jauno statusu")
        await checked(page)

        # A claim the service refuses (the demo device is not insured): at the insurer field.
        await page.get_by_role(
            "link", name="Reģistrēt apdrošināšanas atlīdzības pieteikumu"
        ).click()
        await checked(page)
        await page.get_by_role("button", name="Reģistrēt pieteikumu").click()
        await expect(page.locator("#insurer-error")).to_contain_text("apdrošinātāja nosaukumu")
        await expect(page.locator("#claim_number-error")).to_contain_text("lietas numuru")
        await page.get_by_label("Apdrošinātājs").fill("BTA")
        await page.get_by_label("Atlīdzības lietas numurs").fill("BTA-2026-1")
        await page.get_by_role("button", name="Reģistrēt pieteikumu").click()
        await expect(page.locator("#insurer-error")).to_contain_text(
            "par apdrošinātas ierīces bojājumu vai zādzību"
        )
        await checked(page)
        claims = await family.technician.ok("GET", "tickets", f"/{ticket['id']}/insurance-claims")
        assert claims == []

        # A loss the service will not confirm (a keyboard is not lost): at the field.
        await page.get_by_role("link", name="Atpakaļ uz pieteikumu").click()
        await page.get_by_role(
            "link", name="Apstiprināt, ka ierīce ir nozaudēta vai nozagta"
        ).click()
        await checked(page)
        await page.get_by_label(re.compile("Policijas lietas numurs")).fill("KP-2026/15")
        await page.get_by_role("button", name="Apstiprināt zaudējumu").click()
        await expect(page.locator("#police_report_number-error")).to_contain_text(
            "tikai nozaudētai vai nozagtai ierīcei"
        )
        await checked(page)
        await page.goto(f"{system.portal}/support/tickets/{ticket['id']}/loaner")
        await checked(page)
        assert (await family.ticket(ticket["id"]))["loss_confirmed_at"] is None


class TestWithoutJavaScript:
    async def test_assign_comment_repair_claim_and_loaner(
        self, system: System, family: Family, browser: Browser
    ) -> None:
        ticket = await family.report("damage", "Nokrita no galda, korpuss ieplīsis.")
        municipality = await api_as(system, "municipality_admin")
        insured = {"insurer": "BTA", "insured_until": "2030-08-31"}
        await municipality.ok("PATCH", "inventory", f"/devices/{family.device_id}", json=insured)

        async def insured_in_tickets() -> bool:
            device = (await family.ticket(ticket["id"]))["device"]
            return bool(device and device["insured"])

        await eventually(insured_in_tickets, timeout_s=30)
        async with context_without_js(browser) as context:
            page = await context.new_page()
            await page.set_viewport_size({"width": 320, "height": 800})
            await log_in(page, system, "technician")
            await open_ticket(page, system, ticket["number"], javascript=False)
            await page.get_by_role("button", name="Piešķirt man").click()
            await expect(page.get_by_text("Pieteikums piešķirts jums.")).to_be_visible()
            await comment(page, "Korpuss jāmaina, pieteiksim apdrošinātājam.", "Iekšējs")
            await expect(page.get_by_text("Jūsu komentārs pievienots.")).to_be_visible()
            await change_status(page, "Remontā")
            await expect(page.get_by_text("Statuss nomainīts.")).to_be_visible()
            await checked(page, javascript=False)

            await page.get_by_role(
                "link", name="Reģistrēt apdrošināšanas atlīdzības pieteikumu"
            ).click()
            await page.get_by_label("Apdrošinātājs").fill("BTA")
            await page.get_by_label("Atlīdzības lietas numurs").fill("BTA-2026-77")
            await page.get_by_role("button", name="Reģistrēt pieteikumu").click()
            await expect(page.get_by_text("pieteikums reģistrēts")).to_be_visible()

            await page.get_by_role("link", name="Pieprasīt skolēnam aizvietotājierīci").click()
            await checked(page, javascript=False)
            await page.get_by_role("button", name="Pieprasīt aizvietotājierīci").click()
            await expect(page.get_by_text("Aizvietotājierīce pieprasīta.")).to_be_visible()
            await expect(
                page.get_by_text(re.compile("Aizvietotājierīce pieprasīta: "))
            ).to_be_visible()
            await checked(page, javascript=False)

        after = await family.ticket(ticket["id"])
        assert after["assignee_id"] == family.technician_id
        assert after["state"] == "in_repair" and after["loaner_requested_at"] is not None
        claims = await family.technician.ok("GET", "tickets", f"/{ticket['id']}/insurance-claims")
        assert [(c["insurer"], c["claim_number"], c["status"]) for c in claims] == [
            ("BTA", "BTA-2026-77", "filed")
        ]
        internal = await family.guardian.ok("GET", "tickets", f"/{ticket['id']}/comments")
        assert internal["items"] == []  # the family never sees the internal comment


class TestAnotherMunicipality:
    async def test_its_ticket_is_not_found(
        self, system: System, family: Family, phone: Page
    ) -> None:
        admin = AsyncApi(system.urls, system.token("platform_admin", sub="support-test"))
        code, school = "0020000", "4000000001"
        await admin.ok("POST", "inventory", "/municipalities", json={"code": code, "name": "Citur"})
        body = {"registration_number": school, "name": "Cita skola", "municipality_code": code}
        await admin.ok("POST", "inventory", "/institutions", json=body)
        device = {
            "serial_number": "SN-ELSEWHERE-1", "asset_tag": "ELS-0001",
            "catalogue_item_code": "CB-116-TOUCH-G1-3", "municipality_code": code,
            "institution_registration_number": school, "funding_source": "recovery_fund",
            "status": "available",
        }  # fmt: skip
        created = await admin.ok("POST", "inventory", "/devices", json=device)
        theirs = AsyncApi(system.urls, system.token("technician", municipality=code))

        async def reported() -> Any:
            report = {"device_id": created["id"], "category": "other", "description": "Cits"}
            answer = await theirs.call("POST", "tickets", "", json=report)
            return answer.json() if answer.status_code == 201 else None

        ticket = await eventually(reported, timeout_s=60)
        page = phone
        await log_in(page, system, "technician")
        for path in ("", "/insurance-claim", "/loaner", "/loss"):
            answer = await page.goto(f"{system.portal}/support/tickets/{ticket['id']}{path}")
            assert answer is not None and answer.status == 404
            await expect(page.get_by_role("heading", level=1)).to_have_text("Lapa nav atrasta")
        await checked(page)
        await page.goto(f"{system.portal}/support")
        await expect(page.get_by_text(f"Nr. {ticket['number']}: Cits")).to_have_count(0)
