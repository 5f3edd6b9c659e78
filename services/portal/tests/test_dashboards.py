"""The dashboards in a browser on the whole system: the municipality's, a school's and the
national one show exactly what the statistics API gives the same person (read in the test and
compared with the pages' tables), their CSV files say the same, every chart has a name, another
municipality's pages are not found, the analyst drills down and nobody else finds `/ministry`;
axe, 320 px and the keyboard on every page.

The stack may be shared with the other console modules: every comparison is between the page
and the API read at (nearly) the same moment, never against fixed totals of the demo data."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import random
import re
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Browser, Page

from portal_service.web.figures import FUNDING_SOURCES, OPERATING_SYSTEMS, WARRANTY_STATES
from portal_service.web.labels import DEVICE_CATEGORIES, DEVICE_STATUSES
from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll

from .conftest import RIGA, System, api_as, log_in

SHARED_STACK = "console"
SCHOOL = "3113900101"
BASE = f"/municipality/{RIGA}"
LABELS = {
    "status": DEVICE_STATUSES,
    "os": OPERATING_SYSTEMS,
    "category": DEVICE_CATEGORIES,
    "funding": FUNDING_SOURCES,
    "warranty": WARRANTY_STATES,
}
FIELDS = {
    "status": "by_status",
    "os": "by_os",
    "category": "by_category",
    "funding": "by_funding_source",
    "warranty": "by_warranty_state",
}
TITLES = {
    "status": "Devices by status",
    "os": "Devices by operating system",
    "category": "Devices by category",
    "funding": "Devices by funding programme",
    "warranty": "Devices by warranty",
}


SHOTS = os.environ.get("DASHBOARD_SHOTS")  # a folder to keep screenshots in, when set


async def checked(page: Page) -> None:
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)
    if SHOTS:
        width = page.viewport_size["width"] if page.viewport_size else 0
        name = re.sub(r"[^a-z0-9]+", "-", page.url.split("//", 1)[-1].split("/", 1)[-1].lower())
        await page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)


async def as_person(browser: Browser, system: System, person: str, width: int = 320) -> Page:
    """A demo person logged in, their pages in English (the header's language link)."""
    context = await browser.new_context(viewport={"width": width, "height": 800})
    page = await context.new_page()
    await log_in(page, system, person)
    await page.get_by_role("link", name="English").click()
    await page.wait_for_load_state()
    return page


async def glance(page: Page) -> dict[str, str]:
    """The "At a glance" list: term → value."""
    return dict(
        await page.evaluate(
            """() => [...document.querySelector('#glance').nextElementSibling
                 .querySelectorAll('.govuk-summary-list__row')]
                 .map(r => [r.querySelector('dt').innerText.trim(),
                            r.querySelector('dd').innerText.trim()])"""
        )
    )


async def table_after(page: Page, heading: str) -> list[list[str]]:
    """The cells of the first table after a heading (a chart's data table, opened or not)."""
    return list(
        await page.evaluate(
            """(heading) => {
                 const h = [...document.querySelectorAll('h2, h3')]
                   .find(e => e.textContent.trim() === heading);
                 let el = h.nextElementSibling;
                 while (el && !el.querySelector('table') && el.tagName !== 'TABLE')
                   el = el.nextElementSibling;
                 const table = el.tagName === 'TABLE' ? el : el.querySelector('table');
                 return [...table.querySelectorAll('tbody tr')]
                   .map(r => [...r.children].map(c => c.textContent.trim()));
               }""",
            heading,
        )
    )


def expected_glance(figures: dict[str, Any]) -> dict[str, str]:
    d, loans, r, t = (figures[k] for k in ("devices", "loans", "reservations", "tickets"))
    hours = t["mean_hours_to_resolve"]
    return {
        "Devices": str(d["total"]),
        "Devices in service": str(d["in_service"]),
        "Devices on loan": str(loans["active"]),
        "Loans overdue": str(loans["overdue"]),
        "Reservations waiting": str(r["waiting"]),
        "On the waitlist": str(r["waitlisted"]),
        "Open problem reports": str(t["open"]),
        "Resolved problem reports": str(t["resolved"]),
        "SLA breaches": str(t["sla_breaches"]),
        "Mean time to resolve": "nothing resolved yet" if hours is None else f"{hours:.1f} hours",
        "Pupils": str(figures["pupils"]["total"]),
    }


def expected_chart(key: str, devices: dict[str, Any]) -> dict[str, str]:
    return {LABELS[key].get(k, k): str(v) for k, v in devices[FIELDS[key]].items()}


async def same(
    read_page: Callable[[], Awaitable[Any]], read_api: Callable[[], Awaitable[Any]]
) -> Any:
    """The page's figures once they equal the API's read right after (another module may be
    changing the shared data between the two reads: a few tries)."""
    for _ in range(4):
        shown, given = await read_page(), await read_api()
        if shown == given:
            return shown
        await asyncio.sleep(1)
    assert shown == given
    return shown


async def compare_dashboard(page: Page, url: str, api: Any, area: str) -> dict[str, Any]:
    """The page at `url` shows the API's view of `area`: its glance, its device charts."""
    view: dict[str, Any] = {}

    async def read_page() -> Any:
        await page.goto(url)
        tables = {k: dict(await table_after(page, TITLES[k])) for k in TITLES}
        return await glance(page), tables

    async def read_api() -> Any:
        view.update(await api.ok("GET", "statistics", area))
        devices = view["figures"]["devices"]
        return expected_glance(view["figures"]), {k: expected_chart(k, devices) for k in TITLES}

    await same(read_page, read_api)
    return view


async def csv_rows(page: Page, href: str, filename: str) -> list[list[str]]:
    answer = await page.request.get(href)
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
    assert f'filename="{filename}"' in answer.headers["content-disposition"]
    assert answer.headers["content-disposition"].startswith("attachment")
    return list(csv.reader(io.StringIO(await answer.text())))


class TestMunicipality:
    async def test_the_dashboard_shows_the_api_figures_and_its_csv_says_the_same(
        self, system: System, browser: Browser
    ) -> None:
        page = await as_person(browser, system, "municipality_admin")
        admin = await api_as(system, "municipality_admin")
        await page.goto(f"{system.portal}/municipality")  # one municipality: straight there
        assert page.url == f"{system.portal}{BASE}"
        await checked(page)
        view = await compare_dashboard(
            page, f"{system.portal}{BASE}", admin, f"/municipalities/{RIGA}"
        )
        for key, title in TITLES.items():
            if any(view["figures"]["devices"][FIELDS[key]].values()):
                await page.get_by_role("img", name=title).wait_for()
        await (
            page.get_by_role("navigation", name="Library")
            .get_by_role("link", name="Overview")
            .wait_for()
        )

        async def status_csv() -> Any:
            rows = await csv_rows(page, f"{system.portal}{BASE}/charts/status.csv",
                                  f"municipality-{RIGA}-status.csv")  # fmt: skip
            return rows[0], {code: count for code, _label, count in rows[1:]}

        async def status_api() -> Any:
            by = (await admin.ok("GET", "statistics", f"/municipalities/{RIGA}"))["figures"]
            header = ["Code", "Status", "Devices"]
            return header, {k: str(v) for k, v in by["devices"]["by_status"].items()}

        await same(status_csv, status_api)

        async def coverage_page() -> Any:
            await page.goto(f"{system.portal}{BASE}")
            return [row[:3] for row in await table_after(page, "Coverage")]

        async def coverage_api() -> Any:
            view = await admin.ok("GET", "statistics", f"/municipalities/{RIGA}")
            return [[f"Grades {b['band']}", str(b["pupils"]), str(b["devices"])]
                    for b in view["figures"]["coverage"]]  # fmt: skip

        await same(coverage_page, coverage_api)
        await page.set_viewport_size({"width": 1280, "height": 900})
        await checked(page)
        await page.context.close()

    async def test_the_school_dashboard_and_the_schools_table_agree_with_the_api(
        self, system: System, browser: Browser
    ) -> None:
        page = await as_person(browser, system, "municipality_admin", width=1280)
        admin = await api_as(system, "municipality_admin")

        async def school_row() -> Any:
            await page.goto(f"{system.portal}{BASE}")
            rows = await table_after(page, "Schools")
            return next(r for r in rows if r[0].startswith(name))[1:4]

        async def school_api() -> Any:
            view = await admin.ok("GET", "statistics", f"/municipalities/{RIGA}")
            child = next(c for c in view["children"] if c["code"] == SCHOOL)
            return [str(child[k]) for k in ("devices_in_service", "active_loans", "pupils")]

        name = (await admin.ok("GET", "statistics", f"/institutions/{SCHOOL}"))["name"]
        await same(school_row, school_api)
        await page.get_by_role("link", name=name, exact=True).click()
        assert page.url == f"{system.portal}{BASE}/schools/{SCHOOL}"
        await page.get_by_role("heading", level=1, name=name).wait_for()
        await checked(page)
        await compare_dashboard(
            page, f"{system.portal}{BASE}/schools/{SCHOOL}", admin, f"/institutions/{SCHOOL}"
        )
        rows = await csv_rows(
            page,
            f"{system.portal}{BASE}/schools/{SCHOOL}/charts/activity.csv",
            f"institution-{SCHOOL}-activity.csv",
        )
        assert rows[0] == ["Date", "Reservations waiting", "On the waitlist", "Devices on loan"]
        series = await admin.ok("GET", "statistics", f"/institutions/{SCHOOL}/timeseries")
        api_days = {p["date"]: [str(p[k]) for k in ("reservations_waiting", "waitlisted",
                                                     "active_loans")] for p in series["points"]}  # fmt: skip
        for day, *values in rows[1:]:
            if day in api_days and day != rows[-1][0]:  # today's may still move
                assert values == api_days[day], day
        await page.set_viewport_size({"width": 320, "height": 800})
        await checked(page)
        await page.context.close()

    async def test_the_keyboard_opens_a_chart_s_table(
        self, system: System, browser: Browser
    ) -> None:
        page = await as_person(browser, system, "municipality_admin")
        await page.goto(f"{system.portal}{BASE}")
        for _ in range(120):
            await page.keyboard.press("Tab")
            focused = await page.evaluate("document.activeElement.textContent.trim()")
            if focused == "Show the data as a table":
                break
        else:
            raise AssertionError("the chart's table cannot be reached by keyboard")
        await page.keyboard.press("Enter")
        opened = await page.evaluate("document.activeElement.closest('details').open")
        assert opened
        await checked(page)
        await page.context.close()


async def second_municipality(system: System) -> tuple[str, str]:
    """Another municipality with a school, made by a platform administrator."""
    platform = await api_as(system, "platform_admin")
    code = f"09{random.randint(0, 99999):05d}"
    number = f"90{random.randint(0, 10**8 - 1):08d}"
    await platform.ok("POST", "inventory", "/municipalities",
                      json={"code": code, "name": f"Cita novads {code}"})  # fmt: skip
    answer = await platform.call("POST", "inventory", "/institutions",
                                 json={"registration_number": number, "name": "Cita skola",
                                       "municipality_code": code})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return code, number


class TestTenancy:
    async def test_another_municipality_s_dashboard_school_and_csv_are_not_found(
        self, system: System, browser: Browser
    ) -> None:
        code, number = await second_municipality(system)
        page = await as_person(browser, system, "municipality_admin")
        for path in (
            f"/municipality/{code}",
            f"/municipality/{code}/charts/status.csv",
            f"{BASE}/schools/{number}",
            f"{BASE}/schools/{number}/charts/status.csv",
            f"/municipality/{code}/schools/{number}",
            "/ministry",
            f"/ministry/municipalities/{RIGA}",
        ):
            answer = await page.goto(f"{system.portal}{path}")
            assert answer is not None and answer.status == 404, path
        await checked(page)
        await page.context.close()

    async def test_the_analyst_has_no_console_of_a_municipality(
        self, system: System, browser: Browser
    ) -> None:
        page = await as_person(browser, system, "ministry_analyst")
        for path in ("/municipality", BASE, f"{BASE}/schools/{SCHOOL}"):
            answer = await page.goto(f"{system.portal}{path}")
            assert answer is not None and answer.status == 404, path
        await page.context.close()


class TestMinistry:
    async def test_every_municipality_side_by_side_sorted_and_drilled_down(
        self, system: System, browser: Browser
    ) -> None:
        page = await as_person(browser, system, "ministry_analyst", width=1280)
        analyst = await api_as(system, "ministry_analyst")
        await page.get_by_role("link", name="National overview").click()
        await page.get_by_role("heading", level=1, name="National overview").wait_for()
        await checked(page)

        async def riga_row() -> Any:
            await page.goto(f"{system.portal}/ministry")
            rows = await table_after(page, "Municipalities")
            row = next(r for r in rows if r[0] == riga_name)
            return [row[1], row[2], row[5]]

        async def riga_api() -> Any:
            view = await analyst.ok("GET", "statistics", "/national")
            riga = next(c for c in view["children"] if c["code"] == RIGA)
            return [str(riga[k]) for k in ("devices_in_service", "pupils", "active_loans")]

        national = await analyst.ok("GET", "statistics", "/national")
        riga = next(c for c in national["children"] if c["code"] == RIGA)
        known = await analyst.ok("GET", "inventory", f"/municipalities/{RIGA}")
        riga_name = (
            riga["name"] or known["name"]
        )  # the inventory names it where statistics does not
        await same(riga_row, riga_api)
        series = await analyst.ok("GET", "statistics", "/national/timeseries")
        if series["points"]:
            latest = series["points"][-1]
            await page.get_by_text(
                "provisional" if latest["provisional"] else "final"
            ).first.wait_for()

        await page.get_by_role("link", name="On loan").click()
        assert "sort=loans" in page.url and "order=descending" in page.url
        sorted_head = page.get_by_role("columnheader", name="On loan")
        assert await sorted_head.get_attribute("aria-sort") == "descending"
        rows = await table_after(page, "Municipalities")
        loans = [int(r[5]) for r in rows]
        assert loans == sorted(loans, reverse=True)
        await checked(page)

        await page.get_by_role("link", name=riga_name, exact=True).click()
        assert page.url == f"{system.portal}/ministry/municipalities/{RIGA}"
        await checked(page)
        await compare_dashboard(page, page.url, analyst, f"/municipalities/{RIGA}")
        assert await page.locator(f'a[href^="{BASE}"]').count() == 0  # no console links
        rows = await csv_rows(page, f"{system.portal}/ministry/municipalities/{RIGA}/charts/os.csv",
                              f"municipality-{RIGA}-os.csv")  # fmt: skip
        assert rows[0] == ["Code", "Operating system", "Devices"]
        await page.set_viewport_size({"width": 320, "height": 800})
        await checked(page)
        await page.goto(f"{system.portal}/ministry")
        await checked(page)
        await page.context.close()


class TestUsage:
    """Runs once statistics counts usage (`figures.usage`, the idle-device lists)."""

    async def test_utilisation_and_idle_devices_as_the_api_gives_them(
        self, system: System, browser: Browser
    ) -> None:
        page = await as_person(browser, system, "municipality_admin", width=1280)
        admin = await api_as(system, "municipality_admin")
        view = await admin.ok("GET", "statistics", f"/municipalities/{RIGA}")
        assert "usage" in view["figures"], "statistics does not count usage yet (branch c18-usage)"

        async def usage_page() -> Any:
            await page.goto(f"{system.portal}{BASE}?idle_days=30")
            return [r[:3] for r in await table_after(page, "Usage")]

        async def usage_api() -> Any:
            view = await admin.ok("GET", "statistics", f"/municipalities/{RIGA}",
                                  params={"idle_days": 30})  # fmt: skip
            usage = view["figures"]["usage"]
            return [[f"Last {w} days", str(usage["loan_days"][w]["days"]),
                     "–" if usage["loan_days"][w]["per_device"] is None
                     else f"{usage['loan_days'][w]['per_device']:.1f}"]
                    for w in ("30", "90", "365")]  # fmt: skip

        await same(usage_page, usage_api)
        await page.get_by_text("Idle for over 30 days").first.wait_for()
        listed = await admin.ok("GET", "statistics", f"/municipalities/{RIGA}/idle-devices",
                                params={"idle_days": 30, "kind": "never_lent", "limit": 20})  # fmt: skip
        for item in listed["items"][:3]:
            link = page.locator(f'a[href="{BASE}/devices/{item["device_id"]}"]')
            assert await link.count() >= 1
        await page.get_by_label("Idle means not lent for over").select_option("90")
        await page.get_by_role("button", name="Show idle devices").click()
        assert "idle_days=90" in page.url
        await checked(page)
        await page.context.close()
