"""Onboarding a municipality on the whole system (`make run`'s stack and demo data).

The platform administrator (Gatis Lapiņš) adds Cēsu novads, the VIIS stand-in's second
municipality that nothing seeds, through the guided flow in the browser on a 320 px phone,
in English: its schools from VIIS, its rules, its lender and its first administrator (Sarmīte
Ābele, typed by personal code once and never shown back). Every page is checked with axe and
for sideways scrolling; the outcome through the services' APIs; then she logs in herself. Cēsu
is this module's own municipality: no other module touches it, and each test makes sure it is
onboarded rather than assuming which test ran first.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import BrowserContext, Page, expect

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll
from shared_kit.testing.stack import AsyncApi

from .conftest import System, api_as, log_in

SHARED_STACK = "console"
CESIS = "0420200"  # the VIIS stand-in's Cēsu novads (deploy/dev/viis_standin.py)
CESIS_SCHOOLS = {"4212900101", "4212900102", "4212900103"}
NEWCOMER_CODE = "010177-10004"  # the stand-in's "cesis_admin": Sarmīte Ābele
PHONE = {"width": 320, "height": 800}
LIST = "/platform/municipalities"


async def check(page: Page) -> None:
    """No WCAG 2.1 A/AA violation, no sideways scrolling, and no personal code in the HTML."""
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)
    html = await page.content()
    assert NEWCOMER_CODE not in html and NEWCOMER_CODE.replace("-", "") not in html


async def english(page: Page) -> None:
    """Switch the portal to English (it starts in Latvian)."""
    await page.get_by_role("link", name="English").click()
    await page.wait_for_load_state()


async def press_continue(page: Page) -> None:
    """Press the step's Continue button and wait for the next page."""
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_load_state()


async def onboard(page: Page, system: System, *, auto_approve: str = "No") -> list[str]:
    """Run the whole flow for Cēsu novads; the outcome of each step as the done page says."""
    await page.goto(f"{system.portal}{LIST}")
    await check(page)
    await page.get_by_role("button", name="Add a municipality").click()
    await expect(
        page.get_by_role("heading", name="Which municipality are you adding?")
    ).to_be_visible()
    await check(page)
    await page.get_by_role("radio", name="Cēsu novads").check()
    await press_continue(page)
    await expect(page.get_by_text("Priekuļu Demo vidusskola")).to_be_visible()
    await check(page)
    await press_continue(page)
    await expect(page.get_by_role("heading", name="Reservation rules")).to_be_visible()
    await check(page)
    await page.get_by_role("radio", name=auto_approve, exact=True).check()
    await page.get_by_label("Longest loan").fill("200")
    await page.get_by_label("Days to pick a computer up").fill("5")
    await press_continue(page)
    await expect(page.get_by_role("heading", name="Support time targets")).to_be_visible()
    await check(page)
    await press_continue(page)
    await expect(page.get_by_role("heading", name="The municipality as lender")).to_be_visible()
    await check(page)
    await page.get_by_label("Legal name").fill("Cēsu novada pašvaldība")
    await page.get_by_label("Registration number").fill("90000031048")
    await page.get_by_label("Legal address").fill("Bērzaines iela 5, Cēsis, LV-4101")
    await page.get_by_label("Who signs for the lender").fill("Izglītības pārvaldes vadītājs")
    await press_continue(page)
    await check(page)
    await page.get_by_label("Who is the municipality's first administrator?").fill(NEWCOMER_CODE)
    await press_continue(page)
    await expect(page.get_by_role("heading", name=re.compile("Check your answers"))).to_be_visible()
    await expect(page.get_by_text("Sarmīte Ābele")).to_be_visible()
    await check(page)
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_role("heading", name="Cēsu novads is on the platform")).to_be_visible()
    await check(page)
    return [t.strip() for t in await page.locator(".govuk-summary-list__value").all_inner_texts()]


async def platform_admin_page(context: BrowserContext, system: System) -> Page:
    """A 320 px phone with the platform administrator logged in, in English."""
    page = await context.new_page()
    await page.set_viewport_size(PHONE)
    await log_in(page, system, "platform_admin")
    await english(page)
    return page


async def state_of_cesis(api: AsyncApi) -> dict[str, Any]:
    """What the services hold of Cēsu novads: schools, rules, targets, lender, live admins."""
    schools = await api.ok("GET", "inventory", "/institutions", params={"municipality": CESIS})
    policy = await api.ok("GET", "reservations", f"/policies/{CESIS}")
    sla = await api.ok("GET", "tickets", f"/sla-policies/{CESIS}")
    lender = await api.call("GET", "contracts", f"/lenders/municipality/{CESIS}")
    grants = await api.ok(
        "GET", "gateway", "/grants", params={"role": "municipality_admin", "limit": 200}
    )
    return {
        "schools": sorted(s["registration_number"] for s in schools["items"]),
        "policy": (policy["version"], policy["auto_approve"], policy["max_period_days"]),
        "sla": sorted((p["severity"], p["version"]) for p in sla),
        "lender": lender.json().get("version") if lender.is_success else None,
        "admins": [g["id"] for g in grants["items"] if g["municipality_code"] == CESIS],
    }


async def cesis_is_on_board(api: AsyncApi) -> bool:
    """Whether Cēsu novads has its first administrator (the flow's last step)."""
    return bool((await state_of_cesis(api))["admins"]) if await _exists(api) else False


async def _exists(api: AsyncApi) -> bool:
    return (await api.call("GET", "inventory", f"/municipalities/{CESIS}")).is_success


class TestOnboarding:
    async def test_the_platform_admin_onboards_cesis_and_its_admin_logs_in(
        self, system: System, context: BrowserContext, browser: Any
    ) -> None:
        admin_api = await api_as(system, "platform_admin")
        first_run = not await _exists(admin_api)
        page = await platform_admin_page(context, system)
        outcomes = await onboard(page, system)
        if first_run:
            assert outcomes[0] == "Created" and outcomes[-1] == "Created", outcomes
            assert outcomes[1].startswith("Created: 3 added"), outcomes
        state = await state_of_cesis(admin_api)
        assert set(state["schools"]) == CESIS_SCHOOLS
        assert state["policy"][1:] == (False, 200) and state["policy"][0] >= 1
        assert all(version >= 1 for _, version in state["sla"]) and len(state["sla"]) == 4
        assert state["lender"] is not None and len(state["admins"]) == 1
        school = await admin_api.ok("GET", "inventory", "/institutions/4212900103")
        assert school["address"] and school["grades"] == list(range(1, 13))
        # The list shows Cēsu with its three schools; its page refreshes them from VIIS.
        await page.goto(f"{system.portal}{LIST}")
        row = page.get_by_role("row").filter(has_text="Cēsu novads")
        await expect(row.get_by_role("cell").last).to_have_text("3")
        await row.get_by_role("link", name="Cēsu novads").click()
        await check(page)
        await page.get_by_role("button", name="Refresh schools from VIIS").click()
        await expect(page.get_by_text("0 added, 0 updated, 3 unchanged.")).to_be_visible()
        await check(page)
        # Sarmīte Ābele logs in: a municipality administrator of Cēsu novads.
        her_context = await browser.new_context(viewport=PHONE)
        try:
            hers = await her_context.new_page()
            await log_in(hers, system, "cesis_admin")
            await english(hers)
            await expect(hers.get_by_role("link", name="Library")).to_be_visible()
            await check(hers)
        finally:
            await her_context.close()
        her_api = await api_as(system, "cesis_admin")
        assert CESIS in her_api.claims.get("municipalities", [])
        assert "municipality_admin" in her_api.claims.get("roles", [])
        found = await her_api.ok("GET", "inventory", f"/municipalities/{CESIS}")
        assert found["name"] == "Cēsu novads"

    async def test_a_repeated_submit_or_a_second_run_creates_nothing_twice(
        self, system: System, context: BrowserContext
    ) -> None:
        admin_api = await api_as(system, "platform_admin")
        page = await platform_admin_page(context, system)
        if not await cesis_is_on_board(admin_api):
            await onboard(page, system)
        before = await state_of_cesis(admin_api)
        outcomes = await onboard(page, system, auto_approve="Yes")
        assert outcomes[0] == "Already there" and outcomes[-1] == "Already there", outcomes
        assert outcomes[1].startswith("Already there: 0 added, 0 updated, 3 unchanged"), outcomes
        assert all(o.startswith("Already there") for o in outcomes), outcomes
        # Back to "Check your answers" and a reload: the done page again, nothing sent.
        await page.go_back()
        await page.goto(f"{system.portal}{LIST}/new/check")
        await expect(
            page.get_by_role("heading", name="Cēsu novads is on the platform")
        ).to_be_visible()
        assert await state_of_cesis(admin_api) == before  # its rules kept: not auto-approved

    async def test_a_wrong_personal_code_is_never_shown_back(
        self, system: System, context: BrowserContext
    ) -> None:
        page = await platform_admin_page(context, system)
        await page.goto(f"{system.portal}{LIST}/new")
        await page.get_by_role("radio", name="Cēsu novads").check()
        await press_continue(page)  # to its schools
        await press_continue(page)  # to the rules
        await page.get_by_role("radio", name="No", exact=True).check()
        await page.get_by_label("Longest loan").fill("200")
        await page.get_by_label("Days to pick a computer up").fill("5")
        await press_continue(page)  # to the targets (the usual ones offered)
        await press_continue(page)  # to the lender
        await page.get_by_label("Legal name").fill("Cēsu novada pašvaldība")
        await page.get_by_label("Registration number").fill("90000031048")
        await page.get_by_label("Legal address").fill("Bērzaines iela 5, Cēsis")
        await page.get_by_label("Who signs for the lender").fill("Vadītājs")
        await press_continue(page)
        code_field = page.get_by_label("Who is the municipality's first administrator?")
        await expect(code_field).to_have_attribute("autocomplete", "off")
        for typed, message in (
            ("0417-88", "Enter a personal code in the correct format"),
            ("020202-10005", "VIIS knows no person with this personal code"),
        ):
            await code_field.fill(typed)
            await press_continue(page)
            await expect(page.get_by_role("alert")).to_contain_text(message)
            await expect(code_field).to_have_value("")
            assert typed not in await page.content()
            await check(page)
        # Keyboard only: type the code, Enter; the check page names the person, not the code.
        await code_field.focus()
        await page.keyboard.type(NEWCOMER_CODE)
        await page.keyboard.press("Enter")
        await expect(page.get_by_text("Sarmīte Ābele")).to_be_visible()
        await check(page)
        # A Change link goes back to its step; the back link returns to the check page.
        await page.get_by_role("link", name="Change lender").click()
        await expect(page.get_by_label("Legal name")).to_be_visible()
        await page.get_by_role("link", name="Back").click()
        await expect(
            page.get_by_role("heading", name=re.compile("Check your answers"))
        ).to_be_visible()

    async def test_nobody_else_finds_the_pages(
        self, system: System, context: BrowserContext
    ) -> None:
        page = await context.new_page()
        await page.set_viewport_size(PHONE)
        await log_in(page, system, "municipality_admin")
        for path in (LIST, f"{LIST}/new/municipality", f"{LIST}/{CESIS}", f"{LIST}/0010000"):
            answer = await page.goto(f"{system.portal}{path}")
            assert answer is not None and answer.status == 404, path
            await check(page)
