"""The school administrator's pages on the whole system (`make run`'s stack and demo data).

The families' steps before the school's (a reservation, the guardian's signature) go through
the services' APIs with the demo guardians' own tokens; the school's steps are taken in the
browser as Inese Ozola (the first demo school's administrator) takes them, by roles, labels and
visible text, in Latvian, on a 320 px phone; every page is checked with axe and for sideways
scrolling, and every outcome through the services' APIs.

The stack is shared with the technician's module (`SHARED_STACK`): the families here are this
module's own (Laila Kārkliņa with Luīze and Rihards; Agnese Pētersone with Mia)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll
from shared_kit.testing.kafka import eventually
from shared_kit.testing.stack import AsyncApi

from .conftest import System, api_as, context_without_js, log_in

SHARED_STACK = "school_staff"
GUARDIAN = "schools_guardian"  # Laila: Luīze at the first demo school, Rihards at the second
OTHER_GUARDIAN = "schools_other_guardian"  # Agnese: Mia at the first demo school
SCHOOL = "3113900101"  # the first demo school: Luīze's and Mia's (Inese Ozola administers it)
OTHER_SCHOOL = "3113900102"  # the second: Rihards' (no administrator of it logs in here)
RIGA = "0010000"
PHONE = {"width": 320, "height": 800}


async def check(page: Page) -> None:
    """The page has no WCAG 2.1 A/AA violation and no sideways scrolling."""
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)


@pytest.fixture(scope="module")
async def requests_wait_for_the_school(system: System) -> None:
    """Rīga's policy: staff decide every request (no auto-approval); a child may have several
    requests at once, so one family's child can stand for several families here."""
    riga = await api_as(system, "municipality_admin")
    answer = await riga.call("GET", "reservations", f"/policies/{RIGA}")
    policy = {"auto_approve": False, "max_active_per_learner": 10}
    headers = {"If-Match": answer.headers["etag"]}
    await riga.ok("PUT", "reservations", f"/policies/{RIGA}", json=policy, headers=headers)


async def child_at(api: AsyncApi, school: str) -> str:
    """The learner id of the guardian's child at the school (from who-am-I)."""
    me = await api.ok("GET", "gateway", "/me")
    return next(c["id"] for c in me["children"] if c["school"]["registration_number"] == school)


async def reserve(api: AsyncApi, school: str = SCHOOL, **body: Any) -> dict[str, Any]:
    """A guardian's request for their child at the school (it waits for the school)."""
    learner = await child_at(api, school)
    request = {"learner_id": learner, "institution_number": school, **body}
    reservation = await api.ok("POST", "reservations", "", json=request)
    assert reservation["state"] == "requested", reservation
    return reservation


def ref(reservation: dict[str, Any]) -> str:
    """The request's short reference, as the pages show it."""
    return str(reservation["id"])[:8].upper()


async def signed_by_the_family(guardian: AsyncApi, reservation: dict[str, Any]) -> dict[str, Any]:
    """The guardian signs the agreement drafted for the approved reservation (through the API)."""

    async def drafted() -> Any:
        page = await guardian.ok("GET", "contracts", "", params={"limit": 100})
        found = [c for c in page["items"] if c["reservation_id"] == reservation["id"]]
        return found[0] if found and found[0]["state"] == "awaiting_borrower" else None

    contract = await eventually(drafted, timeout_s=40)
    documents = await guardian.ok("GET", "contracts", f"/{contract['id']}/documents")
    consent = await guardian.ok("GET", "contracts", "/consent")
    body = {"document_sha256": documents[-1]["sha256"], "consent_version": consent["version"]}
    signed = await guardian.ok("POST", "contracts", f"/{contract['id']}/sign", json=body)
    assert signed["state"] == "awaiting_lender", signed
    return signed


async def as_school_admin(page: Page, system: System) -> None:
    """Inese Ozola logs in and opens her school from home."""
    await log_in(page, system, "school_admin")
    await page.get_by_role("link", name="Skolas administrators").click()
    await page.wait_for_url(f"{system.portal}/schools/{SCHOOL}")
    await page.get_by_role("heading", level=1, name="Rīgas Demo 1. pamatskola").wait_for()
    await check(page)


async def open_request(
    page: Page, system: System, reservation: dict[str, Any], *, audit: bool = True
) -> None:
    """From the school's page to the request's, through the approvals queue (checking each page
    with axe unless JavaScript is off: axe runs in the page)."""
    await page.goto(f"{system.portal}/schools/{SCHOOL}")
    await page.get_by_role("link", name="Pieprasījumu apstiprināšana").click()
    await page.get_by_role("heading", level=1, name="Pieprasījumu apstiprināšana").wait_for()
    if audit:
        await check(page)
    await page.get_by_role("link", name=f"Izlemt (Pieprasījums {ref(reservation)})").click()
    await page.get_by_role("heading", level=1, name=f"Pieprasījums {ref(reservation)}").wait_for()
    if audit:
        await check(page)


async def error_summary(page: Page) -> str:
    """The error summary's text (it must be there)."""
    summary = page.get_by_role("alert")
    await summary.get_by_role("heading", name="Radās problēma").wait_for()
    return await summary.inner_text()


def photo_png() -> bytes:
    """A small photo of a cracked screen (a PNG)."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def device_status(api: AsyncApi, device_id: str) -> str:
    """The device's status in the inventory."""
    return str((await api.ok("GET", "inventory", f"/devices/{device_id}"))["status"])


@pytest.fixture
async def phone(context: BrowserContext) -> Page:
    """A page of a 320 px wide phone."""
    page = await context.new_page()
    await page.set_viewport_size(PHONE)
    return page


@pytest.mark.usefixtures("requests_wait_for_the_school")
class TestALoanThroughTheSchool:
    async def test_queue_approve_with_a_device_hand_over_and_a_damaged_return(
        self, system: System, phone: Page
    ) -> None:
        guardian = await api_as(system, GUARDIAN)
        claims = [{"criterion": "low_income", "source": "declared"}]
        wish = {"category": "chromebook"}
        reservation = await reserve(guardian, criteria=wish, social_criteria=claims)
        page = phone
        await as_school_admin(page, system)

        # The queue shows the request with its score and the criterion behind it.
        await page.get_by_role("link", name="Pieprasījumu apstiprināšana").click()
        card = page.locator(".govuk-summary-card").filter(
            has_text=f"Pieprasījums {ref(reservation)}"
        )
        text = await card.inner_text()
        assert "20 punktu" in text, text
        assert "Trūcīga vai maznodrošināta ģimene (norādījusi ģimene)" in text, text
        assert "Chromebook" in text, text
        await check(page)

        # The administrator chooses a device herself.
        await page.get_by_role("link", name=f"Izlemt (Pieprasījums {ref(reservation)})").click()
        await check(page)
        choice = page.get_by_role("radio", name=re.compile(r"^RIX-DEMO-\d+"))
        label = await choice.nth(1).get_attribute("value")
        await choice.nth(1).check()
        await page.get_by_role("button", name="Apstiprināt pieprasījumu").click()
        banner = page.get_by_role("alert")
        await banner.get_by_text(f"Pieprasījums {ref(reservation)} ir apstiprināts").wait_for()
        await check(page)
        school = await api_as(system, "school_admin")
        approved = await school.ok("GET", "reservations", f"/{reservation['id']}")
        assert (approved["state"], approved["device_id"]) == ("approved", label)

        # The family signs; the school hands the device over and signs too.
        contract = await signed_by_the_family(guardian, reservation)
        await page.goto(f"{system.portal}/schools/{SCHOOL}")
        await page.get_by_role("link", name="Ierīču izsniegšana").click()
        await check(page)
        await page.get_by_role("link", name=f"Izsniegt (Līgums {contract['number']})").click()
        await page.get_by_role("heading", level=1, name=f"Līgums {contract['number']}").wait_for()
        await check(page)
        pdf_link = page.get_by_role("link", name="Atvērt līgumu drukāšanai (PDF)")
        pdf = await page.request.get(f"{system.portal}{await pdf_link.get_attribute('href')}")
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        assert (await pdf.body()).startswith(b"%PDF")
        await page.get_by_role("checkbox", name=re.compile("Esmu izsniedzis ierīci")).check()
        await page.get_by_role("button", name="Parakstīt un izsniegt").click()
        await page.get_by_role("alert").get_by_text("Ierīce ir izsniegta").wait_for()
        await check(page)
        active = await school.ok("GET", "contracts", f"/{contract['id']}")
        assert active["state"] == "active"
        await eventually(lambda: _is(device_status(school, label), "on_loan"), timeout_s=40)

        # The device comes back damaged, without its sleeve, with a photo: first without saying
        # its condition (refused at the field), then properly.
        await page.goto(f"{system.portal}/schools/{SCHOOL}")
        await page.get_by_role("link", name="Ierīču atgriešana").click()
        await check(page)
        await page.get_by_role(
            "link", name=f"Reģistrēt atgriešanu (Līgums {contract['number']})"
        ).click()
        await page.get_by_role("button", name="Reģistrēt atgriešanu").click()
        summary = await error_summary(page)
        assert "Izvēlieties, kādā stāvoklī ierīce atdota" in summary
        assert await page.title() == "Kļūda: Reģistrēt atgriešanu – Datori bērniem"
        await check(page)
        await page.get_by_role("radio", name="Bojāta").check()
        await page.get_by_role("checkbox", name="sleeve").uncheck()
        await page.get_by_label("Piezīmes (nav obligāti)").fill("Ieplaisājis ekrāns")
        await page.get_by_label("Fotoattēli (nav obligāti)").set_input_files(
            [{"name": "ekrans.png", "mimeType": "image/png", "buffer": photo_png()}]
        )
        await page.get_by_role("button", name="Reģistrēt atgriešanu").click()
        await page.get_by_role("alert").get_by_text("Atgriešana ir reģistrēta").wait_for()
        await check(page)
        returned = await school.ok("GET", "contracts", f"/{contract['id']}/return")
        assert returned["condition"] == "damaged" and len(returned["photos"]) == 1
        assert "Ieplaisājis ekrāns" in returned["notes"]
        assert "Nav atdoti piederumi: sleeve" in returned["notes"]

        # "Damaged" opened a repair ticket, which the school sees among its reports.
        async def ticket() -> Any:
            page_ = await school.ok(
                "GET", "tickets", "", params={"institution_number": SCHOOL, "limit": 100}
            )
            return next((t for t in page_["items"] if t["device_id"] == label), None)

        opened = await eventually(ticket, timeout_s=40)
        await page.goto(f"{system.portal}/schools/{SCHOOL}/tickets")
        await page.get_by_role("heading", name=f"Pieteikums {opened['number']}").wait_for()
        await check(page)


async def _is(value: Any, expected: str) -> bool:
    return bool(await value == expected)


@pytest.mark.usefixtures("requests_wait_for_the_school")
class TestDecisions:
    async def test_reject_needs_a_reason_then_the_family_sees_it(
        self, system: System, phone: Page
    ) -> None:
        guardian = await api_as(system, GUARDIAN)
        reservation = await reserve(guardian)
        await as_school_admin(phone, system)
        await open_request(phone, system, reservation)
        await phone.get_by_text("Noraidīt šo pieprasījumu").click()
        await phone.get_by_role("button", name="Noraidīt pieprasījumu").click()
        summary = await error_summary(phone)
        assert "Ierakstiet iemeslu, ko redzēs ģimene" in summary
        field = phone.get_by_label("Noraidīšanas iemesls")
        assert await field.is_visible()  # the refused form opens where the message is
        await check(phone)
        reason = "Skolā šim vecumam ierīces nav paredzētas"
        await field.fill(reason)
        await phone.get_by_role("button", name="Noraidīt pieprasījumu").click()
        await (
            phone.get_by_role("alert")
            .get_by_text(f"Pieprasījums {ref(reservation)} ir noraidīts")
            .wait_for()
        )
        seen = await guardian.ok("GET", "reservations", f"/{reservation['id']}")
        assert (seen["state"], seen["reason"]) == ("rejected", reason)

    async def test_no_free_device_is_said_at_the_device_then_the_request_waits_in_line(
        self, system: System, phone: Page
    ) -> None:
        guardian = await api_as(system, GUARDIAN)
        # The first demo school lends Chromebooks only: no laptop is free there.
        reservation = await reserve(guardian, criteria={"category": "laptop"})
        await as_school_admin(phone, system)
        await open_request(phone, system, reservation)
        await phone.get_by_role("button", name="Apstiprināt pieprasījumu").click()
        summary = await error_summary(phone)
        assert "Šim periodam nav brīvas piemērotas ierīces" in summary
        await check(phone)
        await phone.get_by_role("checkbox", name=re.compile("ievietot pieprasījumu")).check()
        await phone.get_by_role("button", name="Apstiprināt pieprasījumu").click()
        await (
            phone.get_by_role("alert")
            .get_by_text(f"Pieprasījums {ref(reservation)} ir gaidīšanas rindā")
            .wait_for()
        )
        seen = await guardian.ok("GET", "reservations", f"/{reservation['id']}")
        assert (seen["state"], seen["waitlist_position"]) == ("waitlisted", 1)
        await phone.get_by_role("link", name="Skatīt gaidīšanas rindu").click()
        await phone.get_by_role("heading", name=f"1. Pieprasījums {ref(reservation)}").wait_for()
        await check(phone)

    async def test_another_schools_request_and_the_other_school_are_not_found(
        self, system: System, phone: Page
    ) -> None:
        guardian = await api_as(system, GUARDIAN)
        elsewhere = await reserve(guardian, school=OTHER_SCHOOL)
        await as_school_admin(phone, system)
        for path in (
            f"/schools/{SCHOOL}/reservations/{elsewhere['id']}",
            f"/schools/{OTHER_SCHOOL}",
            f"/schools/{OTHER_SCHOOL}/approvals",
            f"/schools/{SCHOOL}/agreements/{elsewhere['id']}",
        ):
            answer = await phone.goto(f"{system.portal}{path}")
            assert answer is not None and answer.status == 404, path
            await phone.get_by_role("heading", level=1, name="Lapa nav atrasta").wait_for()
        await check(phone)
        assert ref(elsewhere) not in await phone.inner_text("body")

    async def test_pages_of_the_school_in_english(self, system: System, phone: Page) -> None:
        await as_school_admin(phone, system)
        await phone.get_by_role("link", name="English").click()
        for name, path in (
            ("Devices", "devices"),
            ("Problem reports", "tickets"),
            ("Waitlist", "waitlist"),
            ("Hand over devices", "handovers"),
            ("Record returns", "loans"),
        ):
            await phone.goto(f"{system.portal}/schools/{SCHOOL}/{path}")
            await phone.get_by_role("heading", level=1, name=name).wait_for()
            await check(phone)


@pytest.mark.usefixtures("requests_wait_for_the_school")
class TestWithoutJavaScript:
    async def test_approve_and_hand_over(self, system: System, browser: Browser) -> None:
        family = await api_as(system, OTHER_GUARDIAN)
        reservation = await reserve(family)
        async with context_without_js(browser, viewport=PHONE) as context:
            page = await context.new_page()
            await log_in(page, system, "school_admin")
            await open_request(page, system, reservation, audit=False)
            # The system's own choice is the default.
            assert await page.get_by_role("radio", name="Lai izvēlas sistēma").is_checked()
            await page.get_by_role("button", name="Apstiprināt pieprasījumu").click()
            await page.get_by_text(f"Pieprasījums {ref(reservation)} ir apstiprināts").wait_for()
            school = await api_as(system, "school_admin")
            approved = await school.ok("GET", "reservations", f"/{reservation['id']}")
            assert approved["state"] == "approved" and approved["device_id"]

            contract = await signed_by_the_family(family, reservation)
            await page.goto(f"{system.portal}/schools/{SCHOOL}/handovers")
            await page.get_by_role("link", name=f"Izsniegt (Līgums {contract['number']})").click()
            # Without ticking the confirmation: refused at the checkbox.
            await page.get_by_role("button", name="Parakstīt un izsniegt").click()
            assert "Apstipriniet, ka izsniedzat ierīci" in await error_summary(page)
            await page.get_by_role("checkbox", name=re.compile("Esmu izsniedzis ierīci")).check()
            await page.get_by_role("button", name="Parakstīt un izsniegt").click()
            await page.get_by_text("Ierīce ir izsniegta").wait_for()
            active = await school.ok("GET", "contracts", f"/{contract['id']}")
            assert active["state"] == "active"
            device = approved["device_id"]
            await eventually(lambda: _is(device_status(school, device), "on_loan"), timeout_s=40)
