"""The console's device pages on the whole system: a municipality administrator (Dace Krūmiņa,
Rīga) finds devices by filters and serial number, sorts, pages both ways, downloads the CSV,
opens a device, changes its status with a reason, assigns it to another school; a stale form
says someone changed the device meanwhile; other municipalities' devices and other people are
"not found". Each test makes its own devices (unique serial numbers) and asserts relative to
them: the stack is shared with the other console modules. Every page visited: axe, 320 px."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll
from shared_kit.testing.stack import AsyncApi

from .conftest import System, api_as, log_in

SHARED_STACK = "console"
RIGA = "0010000"
SCHOOL = "3113900101"
OTHER_SCHOOL = "3113900102"
OTHER_SCHOOL_NAME = "Rīgas Demo 2. vidusskola"
MODEL = "CB-116-TOUCH-G1-3"
BASE = f"/municipality/{RIGA}"
PHONE = {"width": 320, "height": 800}


async def check(page: Page, snap: str = "") -> None:
    """No WCAG 2.1 A/AA violation, nothing wider than the screen (with `SCREENSHOTS` set, a
    screenshot at the phone's and a desktop's width, to look at)."""
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)
    if snap and (folder := os.environ.get("SCREENSHOTS")):
        await page.screenshot(path=f"{folder}/{snap}-320.png", full_page=True)
        await page.set_viewport_size({"width": 1200, "height": 900})
        await page.screenshot(path=f"{folder}/{snap}-1200.png", full_page=True)
        await page.set_viewport_size(PHONE)


async def register(api: AsyncApi, prefix: str, count: int, **extra: Any) -> list[dict[str, Any]]:
    """`count` new devices of Rīga, serial numbers and tags `<prefix>-00`, `<prefix>-01`, …"""
    made = []
    for i in range(count):
        body = {
            "serial_number": f"{prefix}-{i:02}",
            "asset_tag": f"{prefix}-{i:02}",
            "catalogue_item_code": MODEL,
            "municipality_code": RIGA,
            "institution_registration_number": SCHOOL,
            "funding_source": "recovery_fund",
            "delivery_date": "2024-09-01",
            **extra,
        }
        made.append(await api.ok("POST", "inventory", "/devices", json=body))
    return made


def unique() -> str:
    return "ZT" + secrets.token_hex(4).upper()


@pytest.fixture
async def admin(system: System) -> AsyncApi:
    return await api_as(system, "municipality_admin")


@pytest.fixture
async def dace(system: System, context: BrowserContext) -> Page:
    """Dace Krūmiņa logged in, on a 320 px phone."""
    page = await context.new_page()
    await page.set_viewport_size(PHONE)
    await log_in(page, system, "municipality_admin")
    return page


async def all_found(api: AsyncApi, **params: Any) -> list[dict[str, Any]]:
    """Every device the inventory's search finds (through its pages)."""
    found, cursor = [], None
    while True:
        query = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = await api.ok("GET", "inventory", "/devices", params=query)
        found += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


async def table_tags(page: Page) -> list[str]:
    """The asset tags of the table's rows, in order."""
    links = page.get_by_role("table").get_by_role("link", name=re.compile(r"^ZT"))
    return [t.strip() for t in await links.all_inner_texts()]


class TestSearch:
    async def test_by_serial_sort_pages_and_csv(
        self, system: System, dace: Page, admin: AsyncApi
    ) -> None:
        prefix = unique()
        await register(admin, prefix, 27)
        await dace.goto(f"{system.portal}{BASE}/devices")
        await dace.get_by_role("heading", level=1, name="Ierīces").wait_for()
        await check(dace)
        # Keyboard only: the serial number's beginning, Enter sends the filter form.
        await dace.get_by_label("Sērijas numurs vai inventāra numurs").focus()
        await dace.keyboard.type(prefix.lower())
        await dace.keyboard.press("Enter")
        await dace.get_by_role("heading", name="Atrastas 27 ierīces").wait_for()
        assert f"q={prefix.lower()}" in dace.url
        await check(dace)
        first = await table_tags(dace)
        assert first == [f"{prefix}-{i:02}" for i in range(25)]
        # Pages: next, then previous back to the same first page.
        await dace.get_by_role("link", name="Nākamā lapa").click()
        await dace.get_by_role("link", name="Iepriekšējā lapa").wait_for()
        assert await table_tags(dace) == [f"{prefix}-25", f"{prefix}-26"]
        await check(dace)
        await dace.get_by_role("link", name="Iepriekšējā lapa").click()
        await dace.get_by_role("link", name="Nākamā lapa").wait_for()
        assert await table_tags(dace) == first
        # Sorting by a column's heading (a link), then the other way.
        device_column = dace.get_by_role("columnheader", name=re.compile("^Ierīce"))
        await expect(device_column).to_have_attribute("aria-sort", "ascending")
        await device_column.get_by_role("link").click()
        await dace.wait_for_url(re.compile("sort=-asset_tag"))
        device_column = dace.get_by_role("columnheader", name=re.compile("^Ierīce"))
        await expect(device_column).to_have_attribute("aria-sort", "descending")
        assert (await table_tags(dace))[:2] == [f"{prefix}-26", f"{prefix}-25"]
        await check(dace, "devices")
        # The CSV: the whole result of the same filters, as the inventory's search finds it.
        async with dace.expect_download() as info:
            await dace.get_by_role("link", name="Lejupielādēt šīs ierīces CSV formātā").click()
        download = await info.value
        text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(text)))
        expected = await all_found(admin, municipality=RIGA, q=prefix, sort="-asset_tag")
        assert [r["id"] for r in rows] == [d["id"] for d in expected]
        assert len(rows) == 27 and rows[0]["serial_number"] == f"{prefix}-26"

    async def test_by_filters(self, system: System, dace: Page, admin: AsyncApi) -> None:
        prefix = unique()
        devices = await register(admin, prefix, 3)
        await register(
            admin,
            prefix + "B",
            1,
            institution_registration_number=OTHER_SCHOOL,
            funding_source="react_eu",
        )
        moved = devices[1]
        await admin.ok("POST", "inventory", f"/devices/{moved['id']}/transitions",
                       json={"to": "available"}, headers={"If-Match": '"1"'})  # fmt: skip
        await dace.goto(f"{system.portal}{BASE}/devices?q={prefix}")
        await dace.get_by_role("heading", name="Atrastas 4 ierīces").wait_for()
        await dace.get_by_label("Pieejama").check()
        await dace.get_by_role("button", name="Atlasīt").click()
        await dace.get_by_role("heading", name="Atrasta 1 ierīce").wait_for()
        assert await table_tags(dace) == [moved["asset_tag"]]
        await check(dace)
        await dace.get_by_label("Pieejama").uncheck()
        await dace.get_by_label("Skola").select_option(label=OTHER_SCHOOL_NAME)
        await dace.get_by_label("Finansējums").select_option(label="REACT-EU")
        await dace.get_by_role("button", name="Atlasīt").click()
        await dace.get_by_role("heading", name="Atrasta 1 ierīce").wait_for()
        assert await table_tags(dace) == [f"{prefix}B-00"]
        assert f"school={OTHER_SCHOOL}" in dace.url and "funding_source=react_eu" in dace.url
        # Every order is in "Sort by" too (the table's headings hold two).
        await dace.get_by_label("Skola").select_option(label="Visas skolas")
        await dace.get_by_label("Finansējums").select_option(label="Jebkurš finansējums")
        await dace.get_by_label("Kārtot pēc").select_option(label="Sērijas numurs, Z–A")
        await dace.get_by_role("button", name="Atlasīt").click()
        await dace.wait_for_url(re.compile("sort=-serial_number"))
        assert await table_tags(dace) == [
            f"{prefix}B-00",
            f"{prefix}-02",
            f"{prefix}-01",
            f"{prefix}-00",
        ]
        await dace.get_by_role("link", name="Notīrīt atlasi").wait_for()


class TestADevice:
    async def test_status_change_assignment_and_history(
        self, system: System, dace: Page, admin: AsyncApi
    ) -> None:
        prefix = unique()
        (device,) = await register(admin, prefix, 1)
        await dace.goto(f"{system.portal}{BASE}/devices?q={prefix}")
        await dace.get_by_role("link", name=f"{prefix}-00").click()
        await dace.get_by_role("heading", level=1, name=f"Ierīce {prefix}-00").wait_for()
        await check(dace)
        # Keyboard: the new status, the reason, the button.
        await dace.get_by_label("Pieejama").focus()
        await dace.keyboard.press("Space")
        await dace.get_by_label("Iemesls").focus()
        await dace.keyboard.type("Sagatavota izsniegšanai")
        await dace.get_by_role("button", name="Mainīt statusu").focus()
        await dace.keyboard.press("Enter")
        await dace.get_by_text("Statuss nomainīts").wait_for()
        assert "done=status" in dace.url
        await dace.get_by_text("Iemesls: Sagatavota izsniegšanai").wait_for()
        await dace.get_by_text("Mainīts statuss").first.wait_for()
        await check(dace)
        now = await admin.ok("GET", "inventory", f"/devices/{device['id']}")
        assert now["status"] == "available"
        # Assign to the other school.
        await dace.get_by_label("Skola").select_option(label=OTHER_SCHOOL_NAME)
        await dace.get_by_role("button", name="Piešķirt").click()
        await dace.get_by_text("Ierīce piešķirta skolai").wait_for()
        other = await admin.ok("GET", "inventory", f"/institutions/{OTHER_SCHOOL}")
        now = await admin.ok("GET", "inventory", f"/devices/{device['id']}")
        assert now["institution_id"] == other["id"]
        await check(dace, "device")

    async def test_a_stale_form_says_someone_changed_it_meanwhile(
        self, system: System, dace: Page, admin: AsyncApi
    ) -> None:
        (device,) = await register(admin, unique(), 1)
        await dace.goto(f"{system.portal}{BASE}/devices/{device['id']}")
        await admin.ok("PATCH", "inventory", f"/devices/{device['id']}", json={"notes": "x"},
                       headers={"If-Match": '"1"'})  # fmt: skip
        await dace.get_by_label("Remontā").check()
        await dace.get_by_label("Iemesls").fill("Ekrāns saplīsis")
        await dace.get_by_role("button", name="Mainīt statusu").click()
        summary = dace.get_by_role("alert")
        await expect(summary).to_contain_text("Kāds pa to laiku mainīja šo ierīci")
        await check(dace, "stale")
        assert (await admin.ok("GET", "inventory", f"/devices/{device['id']}"))[
            "status"
        ] == "in_stock"
        # The page now holds the current version: the same change goes through.
        await dace.get_by_label("Remontā").check()
        await dace.get_by_role("button", name="Mainīt statusu").click()
        await dace.get_by_text("Statuss nomainīts").wait_for()

    async def test_a_missing_reason_is_said_at_the_field(
        self, system: System, dace: Page, admin: AsyncApi
    ) -> None:
        (device,) = await register(admin, unique(), 1)
        await dace.goto(f"{system.portal}{BASE}/devices/{device['id']}")
        await dace.get_by_label("Pieejama").check()
        await dace.get_by_role("button", name="Mainīt statusu").click()
        await expect(dace.get_by_role("alert")).to_contain_text("Ierakstiet, kāpēc statuss mainās")
        await check(dace)


class TestNotFound:
    async def test_another_municipalitys_device_and_console(
        self, system: System, dace: Page
    ) -> None:
        platform = AsyncApi(system.urls, system.token("platform_admin"))
        code = f"09{secrets.randbelow(10**5):05}"
        await platform.ok(
            "POST", "inventory", "/municipalities", json={"code": code, "name": f"Tests {code}"}
        )
        serial = unique()
        body = {"serial_number": serial, "asset_tag": serial, "catalogue_item_code": MODEL,
                "municipality_code": code, "funding_source": "other"}  # fmt: skip
        theirs = await platform.ok("POST", "inventory", "/devices", json=body)
        for path in (f"{BASE}/devices/{theirs['id']}", f"/municipality/{code}/devices",
                     f"/municipality/{code}/devices/{theirs['id']}", f"{BASE}/devices/not-an-id"):  # fmt: skip
            answer = await dace.goto(f"{system.portal}{path}")
            assert answer is not None and answer.status == 404, path
            await dace.get_by_role("heading", level=1, name="Lapa nav atrasta").wait_for()
        await check(dace)

    @pytest.mark.parametrize("person", ["school_admin", "guardian"])
    async def test_other_people_do_not_find_the_console(
        self, system: System, context: BrowserContext, person: str, admin: AsyncApi
    ) -> None:
        (device,) = await register(admin, unique(), 1)
        page = await context.new_page()
        await log_in(page, system, person)
        for path in (f"{BASE}/devices", f"{BASE}/devices/{device['id']}", f"{BASE}/devices.csv"):
            answer = await page.goto(f"{system.portal}{path}")
            assert answer is not None and answer.status == 404, path
