"""The console's deliveries on the whole system (`make run`'s stack and demo data), in the
browser as Rīga's administrator Dace Krūmiņa takes them, in Latvian: a delivery CSV with a bad
row → the dry run's report → the valid rows imported with progress (updating by itself with
JavaScript, by reload without) → the rejected rows as a CSV; by keyboard alone too. Another
municipality's import is not found. axe on every page, and no sideways scrolling at 320 px.
Every outcome is checked through the inventory's API. The stack may be shared with the other
console modules: each test makes its own serial numbers and asserts only about them."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, FileChooser, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll
from shared_kit.testing.stack import AsyncApi

from .conftest import RIGA, System, api_as, context_without_js, log_in

SHARED_STACK = "console"
SCHOOL = "3113900101"
ITEM = "CB-116-TOUCH-G1-3"
HEADER = "serial_number,asset_tag,catalogue_item_code,institution_registration_number,funding_source,delivery_date"
PHONE = {"width": 320, "height": 800}
DELIVERIES = f"/municipality/{RIGA}/deliveries"


async def check(page: Page) -> None:
    """No WCAG 2.1 A/AA violation and no sideways scrolling."""
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)


def delivery(tmp_path: Path, good: int, prefix: str | None = None) -> tuple[Path, str]:
    """A CSV of `good` valid rows with one bad row (an unknown model) as the file's 4th line."""
    prefix = prefix or f"T{uuid.uuid4().hex[:8].upper()}"
    rows = [
        f"{prefix}-{i:04},{prefix}-TAG-{i:04},{ITEM},{SCHOOL},recovery_fund,2024-09-01"
        for i in range(good)
    ]
    rows.insert(2, f"{prefix}-BAD,{prefix}-TAG-BAD,NO-SUCH-MODEL,{SCHOOL},recovery_fund,")
    path = tmp_path / f"piegade-{prefix}.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path, prefix


async def devices_of(system: System, prefix: str) -> list[dict[str, object]]:
    """Rīga's devices whose serial number starts with the prefix, from the inventory's search."""
    api = await api_as(system, "municipality_admin")
    page = await api.ok("GET", "inventory", "/devices", params={"q": prefix, "limit": 200})
    return [d for d in page["items"] if str(d["serial_number"]).startswith(prefix)]


async def upload_and_check(page: Page, system: System, path: Path, *, axe: bool = True) -> None:
    """The upload page → the file → the dry run's report (axe needs JavaScript: `axe=False`
    without it; the same pages are checked with it)."""
    await page.goto(system.portal + DELIVERIES)
    if axe:
        await check(page)
    # The design system's enhanced input is a button under that label: choose as a person does.
    async with page.expect_file_chooser() as chooser:
        await page.get_by_label("Augšupielādējiet piegādes CSV failu").click()
    await (await chooser.value).set_files(path)
    await page.get_by_role("button", name="Pārbaudīt failu").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Pārbaudiet piegādi")


class TestImport:
    async def test_a_delivery_with_a_bad_row_is_checked_imported_and_its_rejects_downloaded(
        self, system: System, context: BrowserContext, tmp_path: Path
    ) -> None:
        page = await context.new_page()
        await page.set_viewport_size(PHONE)
        await log_in(page, system, "municipality_admin")
        path, prefix = delivery(tmp_path, good=30)
        await upload_and_check(page, system, path)
        await check(page)
        rejected = page.get_by_role("table", name="Noraidītās rindas")
        await expect(rejected).to_contain_text(f"{prefix}-BAD")
        await expect(rejected).to_contain_text("no catalogue item NO-SUCH-MODEL")
        await expect(
            rejected.get_by_role("cell", name=re.compile(rf"^4\s*{prefix}-BAD$"))
        ).to_be_visible()
        assert await devices_of(system, prefix) == []  # a dry run imports nothing
        await page.get_by_role("button", name="Importēt 30 derīgās rindas").click()
        await page.wait_for_url(re.compile(rf"{DELIVERIES}/[0-9a-f-]{{36}}$"))
        await page.evaluate("window.stayedOnThePage = true")
        state = await page.locator("#import-status [data-live-state]").get_attribute(
            "data-live-state"
        )
        await check(page)
        # The page follows the import by itself (no reload: the marker stays) to its end.
        await expect(page.get_by_text("Imports pabeigts", exact=True)).to_be_visible(timeout=60_000)
        assert await page.evaluate("window.stayedOnThePage") is True
        if state == "running":  # not yet over when the page came: the script said the end
            await expect(page.locator("#import-announce")).to_contain_text("importētas 30 ierīces")
        await check(page)
        async with page.expect_download() as download:
            await page.get_by_role("link", name="Lejupielādēt 1 noraidīto rindu (CSV)").click()
        rows = list(
            csv.reader(io.StringIO((await (await download.value).path()).read_text("utf-8-sig")))
        )
        assert rows[0] == [*HEADER.split(","), "error"]
        assert rows[1][:3] == [f"{prefix}-BAD", f"{prefix}-TAG-BAD", "NO-SUCH-MODEL"]
        assert "catalogue_item_code" in rows[1][-1] and len(rows) == 2
        found = await devices_of(system, prefix)
        assert len(found) == 30 and {d["status"] for d in found} == {"in_stock"}
        await page.get_by_role("link", name="Importēt citu piegādi").click()
        await expect(page.get_by_role("link", name=path.name)).to_be_visible()
        await check(page)

    async def test_the_import_by_keyboard_alone(
        self, system: System, context: BrowserContext, tmp_path: Path
    ) -> None:
        page = await context.new_page()
        await log_in(page, system, "municipality_admin")
        await page.goto(system.portal + DELIVERIES)
        path, prefix = delivery(tmp_path, good=5)
        # The design system's script turns the file input into a drop zone with a "choose a
        # file" button: tabbing before it ran would focus the input it replaces.
        await expect(
            page.get_by_role("button", name=re.compile("Izvēlēties failu"))
        ).to_be_visible()
        await tab_to(page, "Izvēlēties failu|Augšupielādējiet piegādes CSV failu")
        await (await choose_by_space(page)).set_files(path)
        await tab_to(page, "Pārbaudīt failu")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Pārbaudiet piegādi")
        await check(page)
        await tab_to(page, "Importēt 5 derīgās rindas")
        await page.keyboard.press("Enter")
        await expect(page.get_by_text("Imports pabeigts", exact=True)).to_be_visible(timeout=60_000)
        await check(page)
        assert len(await devices_of(system, prefix)) == 5

    async def test_without_javascript_the_progress_page_works_by_reload(
        self, system: System, browser: Browser, tmp_path: Path
    ) -> None:
        async with context_without_js(browser, viewport=PHONE) as plain:
            page = await plain.new_page()
            await log_in(page, system, "municipality_admin")
            path, prefix = delivery(tmp_path, good=8)
            await upload_and_check(page, system, path, axe=False)
            await page.get_by_role("button", name="Importēt 8 derīgās rindas").click()
            for _ in range(120):
                if await page.get_by_text("Imports pabeigts", exact=True).is_visible():
                    break
                await expect(page.get_by_text("Šī lapa pati neatjaunojas")).to_be_visible()
                await page.wait_for_timeout(500)
                await page.get_by_role("button", name="Atjaunot").click()
            await expect(page.get_by_text("Imports pabeigts", exact=True)).to_be_visible()
            assert len(await devices_of(system, prefix)) == 8


class TestAnotherMunicipality:
    async def test_its_import_is_not_found(
        self, system: System, context: BrowserContext, tmp_path: Path
    ) -> None:
        code = f"09{uuid.uuid4().int % 100_000:05}"
        admin = AsyncApi(system.urls, system.token("platform_admin", sub="deliveries-test"))
        await admin.ok("POST", "inventory", "/municipalities", json={"code": code, "name": "Citur"})
        theirs = AsyncApi(system.urls, system.token("municipality_admin", municipality=code))
        path, _ = delivery(tmp_path, good=2)
        content = path.read_text().replace(SCHOOL, "")
        answer = await theirs.call(
            "POST",
            "inventory",
            "/devices/imports",
            data={"municipality": code, "mode": "valid_rows", "background": "true"},
            files={"file": ("x.csv", content.encode(), "text/csv")},
        )
        assert answer.status_code == 202, answer.text
        page = await context.new_page()
        await log_in(page, system, "municipality_admin")
        theirs_id = answer.json()["id"]
        for url in (
            f"{DELIVERIES}/{theirs_id}",
            f"{DELIVERIES}/{theirs_id}/status",
            f"{DELIVERIES}/{theirs_id}/rejected.csv",
            f"{DELIVERIES}/{uuid.uuid4()}",
            f"/municipality/{code}/deliveries",
            f"/municipality/{code}/deliveries/{theirs_id}",
        ):
            shown = await page.goto(system.portal + url)
            assert shown is not None and shown.status == 404, url
            await expect(page.get_by_role("heading", level=1)).to_have_text("Lapa nav atrasta")
        await check(page)


async def choose_by_space(page: Page) -> FileChooser:
    """Space on the focused "choose a file" button opens the file chooser. Headless Chromium
    now and then drops the first press while the page's scripts settle: a second press on the
    same focused button is what a person would do; a button that never opens one still fails."""
    for attempt in range(3):
        try:
            async with page.expect_file_chooser(timeout=10_000) as chooser:
                await page.keyboard.press("Space")
            return await chooser.value
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def tab_to(page: Page, names: str, presses: int = 80) -> None:
    """Press Tab until the focused element's accessible text matches (a regex of names)."""
    pattern = re.compile(names)
    for _ in range(presses):
        await page.keyboard.press("Tab")
        text = await page.evaluate(
            "(() => { const e = document.activeElement; if (!e) return '';"
            " const label = e.labels && e.labels[0] ? e.labels[0].innerText : '';"
            " return (e.innerText || e.value || '') + ' ' + label; })()"
        )
        if pattern.search(text):
            return
    raise AssertionError(f"Tab never reached {names!r}")
