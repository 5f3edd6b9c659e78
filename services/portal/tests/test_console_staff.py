"""The console's staff and platforms pages on the whole system, as Dace Krūmiņa (Rīga's
municipality administrator) uses them on a 320 px phone, in Latvian: she grants the school
admin role at the second demo school to the teacher Andris Liepiņš, who then approves a request
there, and revokes it, after which his next login cannot open the school; she registers a
system, whose secret (shown once) gets a token at the gateway, makes it a new one and revokes
it. The personal code typed is never in a page; other municipalities' and other roles'
addresses are not found; every page is checked with axe and for sideways scrolling."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Browser, Page

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll

from .conftest import System, api_as, log_in
from .test_schools import ref, reserve

SHARED_STACK = "console"
RIGA = "0010000"
VALMIERA = "0940200"
SCHOOL = "3113900102"  # Rīgas Demo 2. vidusskola: Jānis' school, where Andris teaches
SCHOOL_NAME = "Rīgas Demo 2. vidusskola"
TEACHER_CODE = "010180-10018"  # the demo teacher's (invented) personal code
PHONE = {"width": 320, "height": 800}
STAFF = f"/municipality/{RIGA}/staff"
PLATFORMS = f"/municipality/{RIGA}/platforms"


async def check(page: Page) -> None:
    """The page has no WCAG 2.1 A/AA violation and no sideways scrolling."""
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)


def assert_no_code(html: str) -> None:
    """The teacher's personal code is nowhere in the page, in either of its forms."""
    assert TEACHER_CODE not in html
    assert TEACHER_CODE.replace("-", "") not in html


async def phone_page(browser: Browser) -> Page:
    """A fresh profile's page at a phone's width."""
    context = await browser.new_context(viewport=PHONE)
    return await context.new_page()


async def tab_to(page: Page, name: str) -> None:
    """Press Tab until the focused element's text is `name` (keyboard only)."""
    for _ in range(80):
        await page.keyboard.press("Tab")
        text = await page.evaluate("document.activeElement && document.activeElement.innerText")
        if text and text.strip() == name:
            return
    raise AssertionError(f"{name!r} cannot be reached with Tab")


async def not_found(page: Page, system: System, path: str) -> None:
    """The address is the "not found" page."""
    answer = await page.goto(f"{system.portal}{path}")
    assert answer is not None and answer.status == 404, path
    await page.get_by_role("heading", name="Lapa nav atrasta").wait_for()


async def request_at_the_school(system: System) -> dict[str, Any]:
    """Jānis' guardian asks for a device at his school; it waits for the school's decision
    (Rīga's rules: staff decide; a child may have several requests)."""
    admin = await api_as(system, "municipality_admin")
    answer = await admin.call("GET", "reservations", f"/policies/{RIGA}")
    rules = {k: v for k, v in answer.json().items() if k not in ("municipality_code", "version")}
    rules |= {"auto_approve": False, "max_active_per_learner": 10}
    headers = {"If-Match": answer.headers["etag"]}
    await admin.ok("PUT", "reservations", f"/policies/{RIGA}", json=rules, headers=headers)
    return await reserve(await api_as(system, "guardian"), SCHOOL)


async def grant_page(page: Page, system: System) -> None:
    """From the staff page to the grant form."""
    await page.goto(f"{system.portal}{STAFF}")
    await page.get_by_role("heading", level=1, name="Darbinieki").wait_for()
    await check(page)
    await page.get_by_role("button", name="Piešķirt lomu").click()
    await page.get_by_role("heading", level=1, name="Piešķirt lomu").wait_for()


class TestStaff:
    async def test_grant_approve_revoke_and_the_next_login_cannot(
        self, system: System, browser: Browser
    ) -> None:
        page = await phone_page(browser)
        await log_in(page, system, "municipality_admin")
        await grant_page(page, system)
        await check(page)
        code = page.get_by_label("Personas kods")
        assert await code.get_attribute("autocomplete") == "off"

        # The school is missing: the form comes back without the code, asking for it again.
        await code.fill(TEACHER_CODE)
        await page.get_by_role("radio", name="Skolas administrators").check()
        await page.get_by_role("button", name="Turpināt").click()
        summary = page.get_by_role("alert")
        await summary.get_by_text("Izvēlieties skolu").wait_for()
        await summary.get_by_text("Ievadiet personas kodu vēlreiz").wait_for()
        assert_no_code(await page.content())
        assert await page.get_by_label("Personas kods").input_value() == ""
        assert await page.title() == "Kļūda: Piešķirt lomu – Datori bērniem"
        assert "personal_code" not in page.url and TEACHER_CODE not in page.url
        await check(page)

        # Nobody in VIIS with a code: said at the field.
        await page.get_by_label("Personas kods").fill("010170-10009")
        await page.get_by_label("Skola", exact=True).select_option(label=SCHOOL_NAME)
        await page.get_by_role("button", name="Turpināt").click()
        await page.get_by_role("alert").get_by_text("Izglītības reģistrā VIIS nav").wait_for()
        await check(page)

        # Right: the check page names Andris (from VIIS), never his code.
        await page.get_by_label("Personas kods").fill(TEACHER_CODE)
        await page.get_by_role("radio", name="Skolas administrators").check()
        await page.get_by_label("Skola", exact=True).select_option(label=SCHOOL_NAME)
        await page.get_by_role("button", name="Turpināt").click()
        await page.get_by_role("heading", name="Pārbaudiet lomu, pirms to piešķirat").wait_for()
        text = await page.inner_text("main")
        assert "Andris Liepiņš" in text and SCHOOL_NAME in text
        assert_no_code(await page.content())
        await check(page)
        await page.get_by_role("button", name="Piešķirt lomu").click()
        await page.get_by_role("alert").get_by_text("Loma ir piešķirta").wait_for()
        card = page.locator(".govuk-summary-card").filter(has_text="Andris Liepiņš")
        card_text = await card.inner_text()
        assert SCHOOL_NAME in card_text and "Dace Krūmiņa" in card_text, card_text
        assert_no_code(await page.content())
        await check(page)

        # Andris logs in afresh and approves a request at the school.
        reservation = await request_at_the_school(system)
        teacher = await phone_page(browser)
        await log_in(teacher, system, "teacher")
        await teacher.goto(f"{system.portal}/schools/{SCHOOL}/approvals")
        await teacher.get_by_role("heading", level=1, name="Pieprasījumu apstiprināšana").wait_for()
        await teacher.get_by_role("link", name=f"Izlemt (Pieprasījums {ref(reservation)})").click()
        await teacher.get_by_role("button", name="Apstiprināt pieprasījumu").click()
        banner = teacher.get_by_role("alert")
        await banner.get_by_text(f"Pieprasījums {ref(reservation)} ir apstiprināts").wait_for()
        approved = await (await api_as(system, "guardian")).ok(
            "GET", "reservations", f"/{reservation['id']}"
        )
        assert approved["state"] == "approved"
        await teacher.context.close()

        # Dace revokes it (a confirmation first, by keyboard); his next login cannot.
        await page.get_by_role("link", name=re.compile(r"^Atsaukt.*Andris Liepiņš")).click()
        await page.get_by_role("heading", level=1, name="Atsaukt šo lomu?").wait_for()
        assert "Andris Liepiņš" in await page.inner_text("main")
        await check(page)
        await tab_to(page, "Jā, atsaukt lomu")
        await page.keyboard.press("Enter")
        await page.get_by_role("alert").get_by_text("Loma ir atsaukta").wait_for()
        await check(page)
        assert not await page.locator(".govuk-summary-card").filter(has_text="Andris").count()
        again = await phone_page(browser)
        await log_in(again, system, "teacher")
        await not_found(again, system, f"/schools/{SCHOOL}/approvals")
        await again.context.close()
        await page.context.close()

    async def test_other_municipalities_and_other_roles_find_nothing(
        self, system: System, browser: Browser
    ) -> None:
        page = await phone_page(browser)
        await log_in(page, system, "municipality_admin")
        for path in (f"/municipality/{VALMIERA}/staff", f"/municipality/{VALMIERA}/platforms"):
            await not_found(page, system, path)
        await not_found(page, system, f"{STAFF}/00000000-0000-4000-8000-000000000000/revoke")
        await not_found(page, system, f"{PLATFORMS}/cl_0123456789abcdef0123/secret")
        await page.context.close()
        for person in ("technician", "school_admin"):
            other = await phone_page(browser)
            await log_in(other, system, person)
            for path in (STAFF, f"{STAFF}/new", PLATFORMS, f"{PLATFORMS}/new"):
                await not_found(other, system, path)
            await other.context.close()


async def token_with(system: System, client_id: str, secret: str) -> httpx.Response:
    """The client-credentials grant at the gateway."""
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(
            f"{system.urls.gateway}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )


async def shown_secret(page: Page) -> tuple[str, str]:
    """The client ID and secret on the page that shows them once."""
    await page.get_by_role("heading", level=1, name="Nokopējiet noslēpumu tagad").wait_for()
    client_id = (await page.locator("#client-id").inner_text()).strip()
    secret = (await page.locator("#client-secret").inner_text()).strip()
    return client_id, secret


class TestPlatforms:
    async def test_register_rotate_and_revoke_a_system(
        self, system: System, browser: Browser
    ) -> None:
        page = await phone_page(browser)
        await log_in(page, system, "municipality_admin")
        await page.goto(f"{system.portal}{PLATFORMS}")
        await page.get_by_role("heading", level=1, name="Platformas").wait_for()
        await check(page)
        await page.get_by_role("button", name="Reģistrēt sistēmu").click()
        await check(page)

        # Without a permission: refused at the field, the name kept.
        name = f"Skolu reģistrs {id(page) % 100000}"
        await page.get_by_label("Sistēmas nosaukums").fill(name)
        await page.get_by_role("button", name="Reģistrēt un parādīt noslēpumu").click()
        await page.get_by_role("alert").get_by_text("Izvēlieties vismaz vienu atļauju").wait_for()
        assert await page.get_by_label("Sistēmas nosaukums").input_value() == name
        assert not await page.get_by_role("checkbox", name=re.compile("personas kod")).count()
        await check(page)
        await page.get_by_role(
            "checkbox", name=re.compile("Lasīt ierīces, katalogu un references datus")
        ).check()
        await page.get_by_role("button", name="Reģistrēt un parādīt noslēpumu").click()
        client_id, secret = await shown_secret(page)
        assert (await token_with(system, client_id, secret)).status_code == 200
        await check(page)

        # Listed without its secret; a new secret replaces the old one.
        await page.get_by_role("link", name="Esmu to nokopējis: atpakaļ uz platformām").click()
        card = page.locator(".govuk-summary-card").filter(has_text=name)
        text = await card.inner_text()
        assert client_id in text and "Aktīva" in text
        assert secret not in await page.content()
        await check(page)
        await card.get_by_role("link", name=re.compile("^Jauns noslēpums")).click()
        await page.get_by_role("heading", level=1, name=re.compile("Izveidot jaunu")).wait_for()
        await check(page)
        await tab_to(page, "Jā, izveidot jaunu noslēpumu")
        await page.keyboard.press("Enter")
        same_id, new_secret = await shown_secret(page)
        assert same_id == client_id and new_secret != secret
        assert (await token_with(system, client_id, new_secret)).status_code == 200
        assert (await token_with(system, client_id, secret)).status_code == 401
        await check(page)

        # Revoked: the new secret stops working too.
        await page.goto(f"{system.portal}{PLATFORMS}")
        card = page.locator(".govuk-summary-card").filter(has_text=name)
        await card.get_by_role("link", name=re.compile("^Atsaukt")).click()
        await page.get_by_role("heading", level=1, name=re.compile("Atsaukt sistēmas")).wait_for()
        await check(page)
        await page.get_by_role("button", name="Jā, atsaukt piekļuvi").click()
        await page.get_by_role("alert").get_by_text("Piekļuve ir atsaukta").wait_for()
        assert "Atsaukta" in await card.inner_text()
        assert (await token_with(system, client_id, new_secret)).status_code == 401
        await check(page)
        await not_found(page, system, f"{PLATFORMS}/{client_id}/secret")
        await page.context.close()
