"""The whole system under the portal (`make run`'s stack with its demo data): a guardian logs in
through Latvija.lv in the browser, with and without JavaScript, and the services' APIs answer
as the demo people — the harness the journeys' tests are built on."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext

from .conftest import System, api_as, context_without_js, log_in

DEMO_SCHOOL = "3113900101"  # Marta's (the demo guardian's younger child) and Emīls' school


class TestLogInThroughLatvija:
    async def test_guardian_sees_her_children_on_home(
        self, system: System, context: BrowserContext
    ) -> None:
        page = await context.new_page()
        await log_in(page, system, "guardian")
        assert await page.get_by_role("heading", level=1).inner_text() == "Labdien, Ilze!"
        for child in ("Marta Bērziņa", "Jānis Bērziņš"):
            await page.get_by_role("heading", name=child).wait_for()

    async def test_without_javascript_the_other_family_sees_only_their_child(
        self, system: System, browser: Browser
    ) -> None:
        async with context_without_js(browser) as context:
            page = await context.new_page()
            await log_in(page, system, "other_guardian")
            assert "js-enabled" not in (await page.get_attribute("body", "class") or "")
            await page.get_by_role("heading", name="Emīls Kalējs").wait_for()
            assert await page.get_by_role("heading", name="Marta Bērziņa").count() == 0


class TestApisAsDemoPeople:
    async def test_the_demo_school_lends_devices_the_guardian_can_reserve(
        self, system: System
    ) -> None:
        guardian = await api_as(system, "guardian")
        free = await guardian.ok(
            "GET",
            "reservations",
            "/availability",
            params={"institution_number": DEMO_SCHOOL, "category": "chromebook"},
        )
        assert free["matching"] == free["free"] == 80, free
        assert (await guardian.ok("GET", "reservations", ""))["items"] == []

    async def test_the_school_admin_sees_the_schools_devices(self, system: System) -> None:
        school = await api_as(system, "school_admin")
        params = {"institution_number": DEMO_SCHOOL, "limit": 100}
        devices = (await school.ok("GET", "inventory", "/devices", params=params))["items"]
        assert len(devices) == 80 and {d["status"] for d in devices} == {"available"}
