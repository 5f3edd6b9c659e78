"""The console's catalogue, lenders and rules on the whole system, as Dace Krūmiņa (Rīga's
municipality administrator) uses them in the browser: view, change, a change someone saved
meanwhile (both versions side by side, then hers re-applied), refused values, tenancy.

The stack is shared with the other console modules: every test makes its own catalogue item
and lender, and puts Rīga's policies back as it found them; nothing counts shared data."""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll
from shared_kit.testing.stack import AsyncApi

from .conftest import RIGA, System, api_as, log_in

SHARED_STACK = "console"
BASE = f"/municipality/{RIGA}"
OTHER = "0020000"  # a municipality Dace does not administer
PHONE = {"width": 320, "height": 900}
DESK = {"width": 1200, "height": 1000}
POLICY = f"/policies/{RIGA}"


async def check(page: Page) -> None:
    """No WCAG 2.1 A/AA violation, no sideways scrolling."""
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)


@contextlib.asynccontextmanager
async def signed_in(
    browser: Browser, system: System, person: str = "municipality_admin", size: Any = PHONE
) -> AsyncIterator[Page]:
    """A browser of the person, logged in, reading English."""
    context = await browser.new_context(viewport=size)
    try:
        page = await context.new_page()
        await log_in(page, system, person)
        await page.goto(f"{system.portal}/language/en?next=/home")
        yield page
    finally:
        await context.close()


def fields_of(policy: dict[str, Any]) -> dict[str, Any]:
    """A policy's writable fields."""
    return {k: v for k, v in policy.items() if k not in ("municipality_code", "version")}


async def put_policy(api: AsyncApi, **changes: Any) -> dict[str, Any]:
    """Change Rīga's reservation policy through the API, over its current version."""
    answer = await api.call("GET", "reservations", POLICY)
    body = fields_of(answer.json()) | changes
    headers = {"If-Match": answer.headers["etag"]}
    return dict(await api.ok("PUT", "reservations", POLICY, json=body, headers=headers))


@contextlib.asynccontextmanager
async def policy_kept(api: AsyncApi) -> AsyncIterator[dict[str, Any]]:
    """Rīga's reservation policy, put back as it was at the end (other modules read it)."""
    before = await api.ok("GET", "reservations", POLICY)
    try:
        yield before
    finally:
        await put_policy(api, **fields_of(before))


async def sla_of(api: AsyncApi, severity: str) -> dict[str, Any]:
    """Rīga's SLA targets of one severity."""
    policies = await api.ok("GET", "tickets", f"/sla-policies/{RIGA}")
    return next(p for p in policies if p["severity"] == severity)


async def put_sla(api: AsyncApi, severity: str, response: int, resolution: int) -> None:
    """Change one severity's targets through the API, over its current version."""
    current = await sla_of(api, severity)
    body = {"response_minutes": response, "resolution_minutes": resolution}
    headers = {"If-Match": f'"{current["version"]}"'}
    await api.ok("PUT", "tickets", f"/sla-policies/{RIGA}/{severity}", json=body, headers=headers)


async def summary_says(page: Page, *texts: str) -> None:
    """The error summary is there and lists each text."""
    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("There is a problem")
    for text in texts:
        await expect(summary).to_contain_text(text)


class TestReservationPolicy:
    async def test_she_views_and_changes_every_rule(self, system: System, browser: Browser) -> None:
        api = await api_as(system, "municipality_admin")
        async with policy_kept(api) as before, signed_in(browser, system) as page:
            await page.goto(f"{system.portal}{BASE}/policies")
            await expect(page.get_by_role("heading", name="Rules", level=1)).to_be_visible()
            await check(page)
            await page.get_by_role("link", name="Change time to collect a device").click()
            await expect(
                page.get_by_role("heading", name="Change the reservation rules")
            ).to_be_visible()
            await check(page)
            pickup = 3 if before["pickup_days"] != 3 else 4
            auto = not before["auto_approve"]
            label = "Automatically, when" if auto else "By the school"
            await page.get_by_role("radio", name=re.compile(label)).check()
            await page.get_by_label("Requests a pupil may have at once").fill("3")
            await page.get_by_label("Longest loan").fill("200")
            await page.get_by_label("Time to collect a device").fill(str(pickup))
            await page.get_by_label("Day").fill("31")
            await page.get_by_label("Month").fill("5")
            await page.get_by_role("button", name="Save the rules").click()
            await expect(page.get_by_text("The reservation rules are saved")).to_be_visible()
            await expect(page.get_by_text(f"{pickup} days")).to_be_visible()
            await expect(page.get_by_text("May 31")).to_be_visible()
            await check(page)
            saved = await api.ok("GET", "reservations", POLICY)
            assert fields_of(saved) == {
                "auto_approve": auto, "max_active_per_learner": 3, "max_period_days": 200,
                "pickup_days": pickup, "school_year_end": "05-31",
            }  # fmt: skip

    async def test_a_change_saved_meanwhile_shows_both_versions_and_hers_can_be_reapplied(
        self, system: System, browser: Browser
    ) -> None:
        api = await api_as(system, "municipality_admin")
        async with policy_kept(api) as before, signed_in(browser, system) as page:
            await page.goto(f"{system.portal}{BASE}/policies/reservations")
            mine = 11 if before["pickup_days"] != 11 else 12
            await page.get_by_label("Time to collect a device").fill(str(mine))
            await put_policy(api, max_period_days=123)  # someone else, meanwhile
            await page.get_by_role("button", name="Save the rules").click()
            await summary_says(page, "Someone changed this meanwhile")
            row = page.get_by_role("table", name="Longest loan")
            await expect(row).to_contain_text("Your value")
            await expect(row).to_contain_text(f"{before['max_period_days']} days")
            await expect(row).to_contain_text("123 days")
            await expect(page.get_by_label("Time to collect a device")).to_have_value(str(mine))
            await expect(page.get_by_role("link", name="Keep the saved version")).to_be_visible()
            await check(page)
            # The summary's link leads to the comparison.
            await page.get_by_role("alert").get_by_role("link").click()
            assert page.url.endswith("#conflict")
            await page.get_by_role("button", name="Save my values").click()
            await expect(page.get_by_text("The reservation rules are saved")).to_be_visible()
            saved = await api.ok("GET", "reservations", POLICY)
            assert saved["pickup_days"] == mine
            assert saved["max_period_days"] == before["max_period_days"]  # hers, re-applied

    async def test_keeping_the_saved_version_changes_nothing(
        self, system: System, browser: Browser
    ) -> None:
        api = await api_as(system, "municipality_admin")
        async with policy_kept(api) as before, signed_in(browser, system, size=DESK) as page:
            await page.goto(f"{system.portal}{BASE}/policies/reservations")
            await page.get_by_label("Time to collect a device").fill("44")
            theirs = await put_policy(api, max_period_days=321)
            await page.get_by_role("button", name="Save the rules").click()
            await check(page)
            await page.get_by_role("link", name="Keep the saved version").click()
            await expect(page.get_by_role("heading", name="Rules", level=1)).to_be_visible()
            assert await api.ok("GET", "reservations", POLICY) == theirs
            assert theirs["pickup_days"] == before["pickup_days"]

    async def test_refused_values_are_said_at_their_fields_and_nothing_is_saved(
        self, system: System, browser: Browser
    ) -> None:
        api = await api_as(system, "municipality_admin")
        async with policy_kept(api) as before, signed_in(browser, system) as page:
            await page.goto(f"{system.portal}{BASE}/policies/reservations")
            await page.get_by_label("Longest loan").fill("many")
            await page.get_by_label("Day").fill("30")
            await page.get_by_label("Month").fill("2")
            await page.get_by_role("button", name="Save the rules").click()
            await summary_says(page, "Enter a number of days from 1 to 800", "Enter a real date")
            await check(page)
            # The service's own limits come back at their fields too.
            await page.get_by_label("Longest loan").fill("900")
            await page.get_by_label("Day").fill("1")
            await page.get_by_label("Month").fill("6")
            await page.get_by_label("Time to collect a device").fill("0")
            await page.get_by_role("button", name="Save the rules").click()
            await summary_says(page, "Enter a number of days from 1 to 800", "from 1 to 90")
            await page.get_by_role("alert").get_by_role("link", name=re.compile("1 to 800")).click()
            await expect(page.get_by_label("Longest loan")).to_be_focused()
            await expect(page.get_by_label("Longest loan")).to_have_value("900")
            await check(page)
            assert await api.ok("GET", "reservations", POLICY) == before

    async def test_by_keyboard_alone(self, system: System, browser: Browser) -> None:
        api = await api_as(system, "municipality_admin")
        async with policy_kept(api) as before, signed_in(browser, system, size=DESK) as page:
            await page.goto(f"{system.portal}{BASE}/policies")
            target = "Change time to collect a device"
            for _ in range(80):
                await page.keyboard.press("Tab")
                focused = await page.evaluate("document.activeElement.innerText || ''")
                if " ".join(focused.split()) == target:
                    break
            else:
                raise AssertionError("the Change link is not reachable by Tab")
            await page.keyboard.press("Enter")
            await expect(page.get_by_label("Time to collect a device")).to_be_focused()
            pickup = 5 if before["pickup_days"] != 5 else 6
            await page.keyboard.press("Control+A")
            await page.keyboard.type(str(pickup))
            await page.keyboard.press("Enter")
            await expect(page.get_by_text("The reservation rules are saved")).to_be_visible()
            assert (await api.ok("GET", "reservations", POLICY))["pickup_days"] == pickup


class TestSla:
    async def test_she_changes_a_severitys_targets_and_a_conflict_is_shown(
        self, system: System, browser: Browser
    ) -> None:
        api = await api_as(system, "municipality_admin")
        before = await sla_of(api, "low")
        try:
            async with signed_in(browser, system) as page:
                await page.goto(f"{system.portal}{BASE}/policies#sla")
                await page.get_by_role("link", name="Change targets (Low)").click()
                await expect(page.get_by_role("heading", level=1)).to_have_text(
                    "Support targets for low problems"
                )
                await check(page)
                response = page.get_by_role("group", name="Respond within")
                await response.get_by_label("Length of time").fill("36")
                await response.get_by_role("radio", name="hours").check()
                resolution = page.get_by_role("group", name="Resolve within")
                await resolution.get_by_label("Length of time").fill("9")
                await resolution.get_by_role("radio", name="days").check()
                await page.get_by_role("button", name="Save the targets").click()
                await expect(
                    page.get_by_text("support targets for low problems are saved")
                ).to_be_visible()
                await check(page)
                saved = await sla_of(api, "low")
                assert (saved["response_minutes"], saved["resolution_minutes"]) == (
                    36 * 60,
                    9 * 1440,
                )

                # Meanwhile: someone else saves; she saves her values over theirs.
                await page.goto(f"{system.portal}{BASE}/policies/sla/low")
                await response.get_by_label("Length of time").fill("2")
                await response.get_by_role("radio", name="days").check()
                await put_sla(api, "low", 60, 10 * 1440)
                await page.get_by_role("button", name="Save the targets").click()
                await summary_says(page, "Someone changed this meanwhile")
                row = page.get_by_role("table", name="Respond within")
                await expect(row).to_contain_text("2 days")
                await expect(row).to_contain_text("1 hour")
                await check(page)
                await page.get_by_role("button", name="Save my values").click()
                await expect(page.get_by_text("are saved")).to_be_visible()
                saved = await sla_of(api, "low")
                assert (saved["response_minutes"], saved["resolution_minutes"]) == (
                    2 * 1440,
                    9 * 1440,
                )

                # Resolving sooner than responding: the service refuses, said at the field.
                await page.goto(f"{system.portal}{BASE}/policies/sla/low")
                await resolution.get_by_label("Length of time").fill("1")
                await resolution.get_by_role("radio", name="hours").check()
                await page.get_by_role("button", name="Save the targets").click()
                await summary_says(page, "no shorter than the time to respond")
                await check(page)
                assert (await sla_of(api, "low"))["resolution_minutes"] == 9 * 1440
        finally:
            await put_sla(api, "low", before["response_minutes"], before["resolution_minutes"])


class TestLenders:
    async def test_she_registers_views_and_changes_a_schools_details(
        self, system: System, browser: Browser
    ) -> None:
        api = await api_as(system, "municipality_admin")
        number = "99" + "".join(secrets.choice("0123456789") for _ in range(8))
        async with signed_in(browser, system) as page:
            await page.goto(f"{system.portal}{BASE}/lenders")
            await expect(page.get_by_role("heading", name="Lenders", level=1)).to_be_visible()
            await check(page)
            await page.get_by_role("button", name="Register a lender").click()
            await page.get_by_role("radio", name="A school's").check()
            await page.get_by_label("The school's registration number in VIIS").fill(number)
            await page.get_by_label("Legal name").fill(f"Test school {number}")
            await page.get_by_label("Registration number", exact=True).fill("bad number")
            await page.get_by_label("Legal address").fill("Skolas iela 9, Rīga")
            await page.get_by_label("Signs for the lender").fill("director")
            await page.get_by_role("button", name="Register the lender").click()
            await summary_says(page, "Enter the registration number")
            await check(page)
            await page.get_by_label("Registration number", exact=True).fill(f"900{number}")
            await page.get_by_role("button", name="Register the lender").click()
            await expect(page.get_by_text("The lender's details are saved")).to_be_visible()
            await expect(page.get_by_role("heading", name=f"Test school {number}")).to_be_visible()
            await check(page)

            path = f"/lenders/institution/{number}"
            await page.get_by_role("link", name="Change signs for the lender").click()
            await check(page)
            await page.get_by_label("Signs for the lender").fill("Director Anna Ozola")
            lender = await api.ok("GET", "contracts", path)
            headers = {"If-Match": f'"{lender["version"]}"'}
            await api.ok(
                "PATCH", "contracts", path, json={"address": "Meža iela 2, Rīga"}, headers=headers
            )
            await page.get_by_role("button", name="Save the details").click()
            await summary_says(page, "Someone changed this meanwhile")
            row = page.get_by_role("table", name="Legal address")
            await expect(row).to_contain_text("Skolas iela 9, Rīga")
            await expect(row).to_contain_text("Meža iela 2, Rīga")
            await check(page)
            await page.get_by_label("Legal address").fill("Meža iela 2, Rīga")  # keeps theirs
            await page.get_by_role("button", name="Save my values").click()
            await expect(page.get_by_text("The lender's details are saved")).to_be_visible()
            saved = await api.ok("GET", "contracts", path)
            assert (saved["representative"], saved["address"]) == (
                "Director Anna Ozola",
                "Meža iela 2, Rīga",
            )

            await page.goto(f"{system.portal}{BASE}/lenders")
            await expect(page.get_by_role("link", name=f"Test school {number}")).to_be_visible()

            # Registered once only: a second time is said at the number.
            await page.goto(f"{system.portal}{BASE}/lenders/new")
            await page.get_by_role("radio", name="A school's").check()
            await page.get_by_label("The school's registration number in VIIS").fill(number)
            await page.get_by_label("Legal name").fill("Again")
            await page.get_by_label("Registration number", exact=True).fill("90000000002")
            await page.get_by_label("Legal address").fill("Skolas iela 9, Rīga")
            await page.get_by_label("Signs for the lender").fill("director")
            await page.get_by_role("button", name="Register the lender").click()
            await summary_says(page, "This lender is registered already")


class TestCatalogue:
    async def test_she_views_and_changes_an_item_and_a_conflict_is_shown(
        self, system: System, browser: Browser
    ) -> None:
        api = await api_as(system, "municipality_admin")
        code = f"TEST-{secrets.token_hex(4).upper()}"
        await api.ok("POST", "inventory", "/catalogue-items", json={
            "code": code, "name": "Test laptop 14", "manufacturer": "Acme", "model": "A14",
            "category": "laptop", "os": "linux", "screen_inches": "14.0",
            "specs": {"cpu": "N100", "ram_gb": 8}, "school_levels": ["grades 1-3"],
        })  # fmt: skip
        path = f"/catalogue-items/{code}"
        async with signed_in(browser, system) as page:
            await page.goto(f"{system.portal}{BASE}/catalogue")
            await expect(page.get_by_role("heading", name="Catalogue", level=1)).to_be_visible()
            await check(page)
            await page.goto(f"{system.portal}{BASE}/catalogue/{code}")
            await expect(page.get_by_role("heading", name="Test laptop 14")).to_be_visible()
            await expect(page.get_by_text("cpu: N100; ram_gb: 8")).to_be_visible()
            await check(page)
            await page.get_by_role("link", name="Change technical details").click()
            await check(page)
            await page.get_by_label("Technical details").fill("cpu: N100\nram_gb 16")
            await page.get_by_role("button", name="Save the item").click()
            await summary_says(page, "Write each technical detail on its own line")
            await check(page)
            await page.get_by_label("Technical details").fill("cpu: N200\nram_gb: 16\ntouch: true")
            await page.get_by_label("Extra warranty").fill("24")
            await page.get_by_role("checkbox", name="Laptop bag").check()
            await page.get_by_role("button", name="Save the item").click()
            await expect(page.get_by_text("The catalogue item is saved")).to_be_visible()
            await check(page)
            item = await api.ok("GET", "inventory", path)
            assert item["specs"] == {"cpu": "N200", "ram_gb": 16, "touch": True}
            assert item["options"]["extra_warranty_months"] == 24 and item["options"]["bag"]

            await page.get_by_role("link", name="Change name").click()
            await page.get_by_label("Name").fill("Test laptop 14, 2026")
            headers = {"If-Match": f'"{item["version"]}"'}
            await api.ok("PATCH", "inventory", path, json={"active": False}, headers=headers)
            await page.get_by_role("button", name="Save the item").click()
            await summary_says(page, "Someone changed this meanwhile")
            row = page.get_by_role("table", name="Offered")
            await expect(row).to_contain_text("Yes, it can be chosen")
            await expect(row).to_contain_text("No")
            await check(page)
            await page.get_by_role("button", name="Save my values").click()
            await expect(page.get_by_text("The catalogue item is saved")).to_be_visible()
            item = await api.ok("GET", "inventory", path)
            assert (item["name"], item["active"]) == ("Test laptop 14, 2026", True)


class TestTenancy:
    @pytest.mark.parametrize("person", ["technician", "school_admin", "ministry_analyst"])
    async def test_anyone_but_the_municipalitys_admin_finds_nothing(
        self, system: System, browser: Browser, person: str
    ) -> None:
        async with signed_in(browser, system, person) as page:
            for part in ("/policies", "/policies/reservations", "/policies/sla/low", "/lenders",
                         "/catalogue"):  # fmt: skip
                answer = await page.goto(f"{system.portal}{BASE}{part}")
                assert answer is not None and answer.status == 404, part
            await check(page)

    async def test_another_municipalitys_pages_and_lenders_are_not_found(
        self, system: System, browser: Browser
    ) -> None:
        platform = await api_as(system, "platform_admin")
        number = "98" + "".join(secrets.choice("0123456789") for _ in range(8))
        await platform.ok("POST", "contracts", "/lenders", json={
            "kind": "institution", "code": number, "municipality_code": OTHER,
            "name": "Another municipality's school", "registration_number": "90000000003",
            "address": "Skolas iela 1, Cēsis", "representative": "director",
        })  # fmt: skip
        async with signed_in(browser, system) as page:
            other = f"/municipality/{OTHER}"
            for path in (f"{other}/policies", f"{other}/policies/reservations",
                         f"{other}/policies/sla/high", f"{other}/lenders", f"{other}/catalogue",
                         f"{BASE}/lenders/institution/{number}",
                         f"{BASE}/lenders/institution/{number}/edit",
                         f"{BASE}/policies/sla/urgent", f"{BASE}/catalogue/NO-SUCH-ITEM"):  # fmt: skip
                answer = await page.goto(f"{system.portal}{path}")
                assert answer is not None and answer.status == 404, path
                await expect(page.get_by_role("heading", level=1)).to_contain_text("Page not found")
            await check(page)
