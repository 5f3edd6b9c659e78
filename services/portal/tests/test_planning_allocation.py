"""The allocation pages on the whole system, in Latvian at 320 px (and a desktop's width): the
programme manager Inese Kalniņa allocates 30 devices over Rīga's two demo schools, computes,
reads a school's explanation (its figures are the API's line) and the stored inputs (a table per
school), adjusts with a reason (the total unchanged, the audit shows it) and publishes; a stale
Compute or Publish says the round changed meanwhile and shows it as it is now; Rīga's
administrator Dace Krūmiņa sees it, moves 2 devices between her schools (both lines change in
the API), is refused moving more than a school has, records an order for one of her schools and
cannot open another municipality's allocation; the analyst Laura Vītola sees the rounds and the
municipalities' table only; a device registered in the inventory with the round's order reference
shows as delivered. axe and no sideways scrolling on every page. The stack is shared: every test
makes its own round."""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from typing import Any

from playwright.async_api import Browser, Page, expect

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll
from shared_kit.testing.stack import AsyncApi

from .conftest import RIGA, System, api_as, log_in

SHARED_STACK = "planning"
SCHOOL_1 = "3113900101"
SCHOOL_2 = "3113900102"
VALMIERA = "0940200"
PHONE = {"width": 320, "height": 800}
DESKTOP = {"width": 1200, "height": 900}
ROUNDS = "/allocation-rounds"
ITEM = "CB-116-TOUCH-G1-3"


async def check(page: Page, snap: str = "") -> None:
    """No WCAG 2.1 A/AA violation and no sideways scrolling, at the phone's width and at a
    desktop's (with `SCREENSHOTS` set, a screenshot at each, to look at)."""
    folder = os.environ.get("SCREENSHOTS")
    if snap and folder:
        await page.screenshot(path=f"{folder}/{snap}-320.png", full_page=True)
    assert "radusies kļūda" not in await page.title(), page.url
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)
    await page.set_viewport_size(DESKTOP)
    await assert_no_sideways_scroll(page)
    if snap and folder:
        await page.screenshot(path=f"{folder}/{snap}-1200.png", full_page=True)
    await page.set_viewport_size(PHONE)


async def as_person(browser: Browser, system: System, person: str) -> Page:
    """A fresh phone-sized profile with the person logged in."""
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await log_in(page, system, person)
    return page


async def line(api: AsyncApi, round_id: str, school: str) -> dict[str, Any]:
    """A school's line as the planning API gives it."""
    page = await api.ok("GET", "planning", f"{ROUNDS}/{round_id}/lines",
                        params={"institution": school})  # fmt: skip
    found: dict[str, Any] = page["items"][0]
    assert found["institution_number"] == school
    return found


async def step(api: AsyncApi, round_id: str, name: str) -> dict[str, Any]:
    """A step of the round through the API, over its current version."""
    path = f"{ROUNDS}/{round_id}"
    current = await api.call("GET", "planning", path)
    done: dict[str, Any] = await api.ok(
        "POST", "planning", f"{path}/{name}",
        headers={"If-Match": current.headers["etag"], "Idempotency-Key": uuid.uuid4().hex},
    )  # fmt: skip
    return done


async def created_round(api: AsyncApi) -> tuple[str, str]:
    """A draft round made through the API (its id and order reference)."""
    reference = f"ANM-{uuid.uuid4().hex[:8].upper()}"
    made = await api.ok("POST", "planning", ROUNDS, json=new_round(reference),
                        headers={"Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
    return made["id"], reference


def new_round(reference: str) -> dict[str, Any]:
    """A round of 30 devices over Rīga's two demo schools, every grade."""
    return {
        "title": f"Tests {reference}", "funding_programme": "ANM", "order_reference": reference,
        "devices": 30, "grade_bands": ["1-3", "4-6", "7-9", "10-12"],
        "target_ratio": {"1-3": 3, "4-6": 3, "7-9": 3, "10-12": 3},
        "subtract_devices_held": True, "institutions": [SCHOOL_1, SCHOOL_2],
    }  # fmt: skip


async def published_round(system: System) -> tuple[str, str]:
    """A published round made through the API (its id and order reference)."""
    manager = await api_as(system, "programme_manager")
    round_id, reference = await created_round(manager)
    for name in ("compute", "publish"):
        await step(manager, round_id, name)
    return round_id, reference


class TestTheProgrammeManager:
    async def test_allocates_explains_adjusts_and_publishes(
        self, system: System, browser: Browser
    ) -> None:
        page = await as_person(browser, system, "programme_manager")
        api = await api_as(system, "programme_manager")
        reference = f"ANM-{uuid.uuid4().hex[:8].upper()}"
        await page.goto(f"{system.portal}/planning/allocations")
        await check(page, "rounds")
        await page.get_by_role("button", name="Sadalīt iepirkumu").click()
        await check(page, "new")
        await page.get_by_label("Nosaukums").fill(f"Tests {reference}")
        await page.get_by_label("Finansējuma programma").fill("ANM")
        await page.get_by_label("Pasūtījuma atsauce").fill(reference)
        await page.get_by_label("Ierīču skaits", exact=True).fill("30")
        await page.get_by_label("Tikai šīs skolas (nav obligāti)").fill(f"{SCHOOL_1} {SCHOOL_2}")
        await page.get_by_role("button", name="Turpināt").click()
        await page.get_by_role(
            "heading", name="Pārbaudiet sadalījumu, pirms to izveidojat"
        ).wait_for()
        await check(page, "check")
        await page.get_by_role("button", name="Izveidot sadalījumu").click()
        await page.get_by_text("Sadalījums izveidots").wait_for()
        await check(page, "draft")
        round_id = page.url.split("/planning/allocations/")[1].split("?")[0]

        await page.get_by_role("button", name="Aprēķināt").click()
        await page.get_by_text("Sadalījums aprēķināts.").wait_for()
        await check(page, "computed")
        round_ = await api.ok("GET", "planning", f"{ROUNDS}/{round_id}")
        main = page.locator("main")
        allocated = round_["totals"]["allocated"]
        await expect(main).to_contain_text(re.compile(rf"Piešķirts\s+{allocated}\s"))
        await page.get_by_role("link", name="Rīga").click()
        await check(page, "schools")
        expected = await line(api, round_id, SCHOOL_2)
        await page.get_by_role("link", name=expected["name"]).click()
        await check(page, "explain")
        text = await main.inner_text()
        assert f"Vajadzība: {expected['need']} ierīces." in text
        assert f"Aprēķinātas: {expected['computed']} ierīces." in text
        assert expected["share"] in text and expected["share_exact"] in text
        assert expected["remainder"] in text

        await page.goto(f"{system.portal}/planning/allocations/{round_id}/inputs")
        await check(page, "inputs")
        inputs = page.get_by_role("region", name="Ievaddati pa skolām")
        row = inputs.get_by_role("row", name=re.compile(SCHOOL_2))
        await expect(row).to_contain_text(str(expected["eligible_pupils"]["by_band"]["10-12"]))

        await page.goto(f"{system.portal}/planning/allocations/{round_id}/adjustments")
        await check(page, "adjust")
        await page.get_by_label("No skolas").select_option(SCHOOL_2)
        await page.get_by_label("Uz skolu").select_option(SCHOOL_1)
        await page.get_by_label("Ierīču skaits", exact=True).fill("1")
        await page.get_by_role("button", name="Reģistrēt pārdali").click()
        summary = page.get_by_role("alert")
        await expect(summary).to_contain_text("Ievadiet iemeslu")
        await check(page)
        await page.get_by_label("Iemesls").fill("Skola atvēra jaunu klasi")
        await page.get_by_role("button", name="Reģistrēt pārdali").click()
        await page.get_by_text("Pārdale reģistrēta").wait_for()
        await expect(main).to_contain_text("Skola atvēra jaunu klasi")
        await check(page, "adjusted")
        after = await line(api, round_id, SCHOOL_2)
        assert after["allocated"] == expected["allocated"] - 1
        round_ = await api.ok("GET", "planning", f"{ROUNDS}/{round_id}")
        assert round_["totals"]["allocated"] == expected_total(round_)

        await page.goto(f"{system.portal}/planning/allocations/{round_id}")
        await page.get_by_role("link", name="Publicēt").click()
        await check(page, "publish")
        await page.get_by_role("button", name="Publicēt").click()
        await page.get_by_text("Sadalījums publicēts").wait_for()
        await check(page, "published")
        assert (await api.ok("GET", "planning", f"{ROUNDS}/{round_id}"))["state"] == "published"

        await page.get_by_role("link", name="Pasūtījumi pa skolām").click()
        await check(page, "orders")
        await page.get_by_role(
            "link", name=re.compile("Reģistrēt pasūtījumu " + after["name"])
        ).click()
        await check(page, "order")
        await page.get_by_label("Pasūtītās ierīces").fill("abc")
        await page.get_by_role("button", name="Reģistrēt pasūtījumu").click()
        await expect(page.get_by_role("alert")).to_contain_text("Ievadiet")
        await page.get_by_label("Pasūtītās ierīces").fill(str(after["allocated"]))
        await page.get_by_role("button", name="Reģistrēt pasūtījumu").click()
        await page.get_by_text("Pasūtījums reģistrēts").wait_for()
        assert (await line(api, round_id, SCHOOL_2))["ordered"] == after["allocated"]

    async def test_a_stale_compute_says_the_round_changed(
        self, system: System, browser: Browser
    ) -> None:
        api = await api_as(system, "programme_manager")
        round_id, _ = await created_round(api)
        page = await as_person(browser, system, "programme_manager")
        await page.goto(f"{system.portal}/planning/allocations/{round_id}")
        await step(api, round_id, "compute")  # someone else computes meanwhile
        await page.get_by_role("button", name="Aprēķināt").click()
        summary = page.get_by_role("alert")
        await expect(summary).to_contain_text("Kāds mainīja sadalījumu")
        await expect(page.locator("main")).to_contain_text("Ielādēt sadalījumu no jauna")
        await check(page, "stale-compute")
        # The page now carries the current version: computing again is accepted.
        await page.get_by_role("button", name="Aprēķināt").click()
        await page.get_by_text("Sadalījums aprēķināts.").wait_for()

    async def test_a_stale_publish_says_the_round_changed(
        self, system: System, browser: Browser
    ) -> None:
        api = await api_as(system, "programme_manager")
        round_id, _ = await created_round(api)
        await step(api, round_id, "compute")
        page = await as_person(browser, system, "programme_manager")
        await page.goto(f"{system.portal}/planning/allocations/{round_id}/publish")
        source = await line(api, round_id, SCHOOL_1)
        target = SCHOOL_2 if source["allocated"] else SCHOOL_1
        giver = SCHOOL_1 if target == SCHOOL_2 else SCHOOL_2
        await api.ok("POST", "planning", f"{ROUNDS}/{round_id}/adjustments", json={
            "from_institution": giver, "to_institution": target, "quantity": 1,
            "reason": "Meanwhile",
        }, headers={"Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
        await page.get_by_role("button", name="Publicēt").click()
        await expect(page.get_by_role("alert")).to_contain_text("Kāds mainīja sadalījumu")
        await check(page, "stale-publish")
        assert (await api.ok("GET", "planning", f"{ROUNDS}/{round_id}"))["state"] == "computed"


def expected_total(round_: dict[str, Any]) -> int:
    """Every device of the round is allocated unless the schools' need is smaller."""
    return int(round_["devices"]) - int(round_["totals"].get("unallocated") or 0)


class TestTheMunicipality:
    async def test_moves_devices_between_its_schools(
        self, system: System, browser: Browser
    ) -> None:
        round_id, _ = await published_round(system)
        api = await api_as(system, "municipality_admin")
        before = {s: await line(api, round_id, s) for s in (SCHOOL_1, SCHOOL_2)}
        page = await as_person(browser, system, "municipality_admin")
        await page.goto(f"{system.portal}/municipality/{RIGA}/allocations")
        await check(page)
        await page.get_by_role("link", name=re.compile("Tests ANM-")).first.wait_for()
        await page.goto(f"{system.portal}/municipality/{RIGA}/allocations/{round_id}")
        await check(page)
        too_many = before[SCHOOL_1]["allocated"] + 1
        await move(page, SCHOOL_1, SCHOOL_2, too_many, "Par daudz")
        await expect(page.get_by_role("alert")).to_contain_text("Skolai nav tik daudz ierīču")
        await check(page)
        await move(page, SCHOOL_1, SCHOOL_2, 2, "Otrajā skolā vairāk skolēnu bez datora")
        await page.get_by_text("Ierīces pārvietotas.").wait_for()
        await check(page)
        after = {s: await line(api, round_id, s) for s in (SCHOOL_1, SCHOOL_2)}
        assert after[SCHOOL_1]["allocated"] == before[SCHOOL_1]["allocated"] - 2
        assert after[SCHOOL_2]["allocated"] == before[SCHOOL_2]["allocated"] + 2
        await page.get_by_role("link", name=re.compile(SCHOOL_1 + "|Demo 1")).first.click()
        await check(page)
        await expect(page.locator("main")).to_contain_text("pārvietojumi: -2")

    async def test_another_municipality_s_allocation_is_not_found(
        self, system: System, browser: Browser
    ) -> None:
        round_id, _ = await published_round(system)
        page = await as_person(browser, system, "municipality_admin")
        for path in (f"/municipality/{VALMIERA}/allocations/{round_id}",
                     f"/planning/allocations/{round_id}"):  # fmt: skip
            answer = await page.goto(f"{system.portal}{path}")
            assert answer is not None and answer.status == 404, path
            await check(page)

    async def test_the_move_by_keyboard_alone(self, system: System, browser: Browser) -> None:
        round_id, _ = await published_round(system)
        page = await as_person(browser, system, "municipality_admin")
        await page.goto(f"{system.portal}/municipality/{RIGA}/allocations/{round_id}")
        await page.get_by_label("No skolas").focus()
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("Tab")
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("Tab")
        await page.keyboard.type("1")
        await page.keyboard.press("Tab")
        await page.keyboard.type("Ar tastatūru")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        await page.get_by_text("Ierīces pārvietotas.").wait_for()
        await check(page)

    async def test_records_an_order_for_its_school(self, system: System, browser: Browser) -> None:
        round_id, _ = await published_round(system)
        api = await api_as(system, "municipality_admin")
        school = await line(api, round_id, SCHOOL_1)
        page = await as_person(browser, system, "municipality_admin")
        await page.goto(f"{system.portal}/municipality/{RIGA}/allocations/{round_id}")
        await page.get_by_role("link", name=f"Reģistrēt pasūtījumu {school['name']}").click()
        await check(page, "console-order")
        await page.get_by_label("Pasūtītās ierīces").fill("-1")
        await page.get_by_role("button", name="Reģistrēt pasūtījumu").click()
        await expect(page.get_by_role("alert")).to_contain_text("Ievadiet")
        await check(page)
        await page.get_by_label("Pasūtītās ierīces").fill("4")
        await page.get_by_role("button", name="Reģistrēt pasūtījumu").click()
        await page.get_by_text(f"Skolas {school['name']} pasūtījums reģistrēts.").wait_for()
        await check(page, "console-round")
        assert (await line(api, round_id, SCHOOL_1))["ordered"] == 4
        answer = await page.goto(
            f"{system.portal}/municipality/{VALMIERA}/allocations/{round_id}/orders/{SCHOOL_1}"
        )
        assert answer is not None and answer.status == 404


async def move(page: Page, source: str, target: str, quantity: int, reason: str) -> None:
    """Fill the move form and send it."""
    await page.get_by_label("No skolas").select_option(source)
    await page.get_by_label("Uz skolu").select_option(target)
    await page.get_by_label("Ierīču skaits", exact=True).fill(str(quantity))
    await page.get_by_label("Iemesls").fill(reason)
    await page.get_by_role("button", name="Pārvietot ierīces").click()


class TestTheAnalyst:
    async def test_sees_the_municipalities_table_only(
        self, system: System, browser: Browser
    ) -> None:
        round_id, _ = await published_round(system)
        admin = await api_as(system, "municipality_admin")
        reason = f"Iemesls {uuid.uuid4().hex[:6]}"
        await admin.ok("POST", "planning", f"{ROUNDS}/{round_id}/moves", json={
            "from_institution": SCHOOL_2, "to_institution": SCHOOL_1, "quantity": 1,
            "reason": reason,
        }, headers={"Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
        page = await as_person(browser, system, "ministry_analyst")
        await page.goto(f"{system.portal}/planning/allocations")
        await check(page, "analyst-rounds")
        await page.goto(f"{system.portal}/planning/allocations/{round_id}")
        await check(page, "analyst-round")
        table = page.get_by_role("region", name="Rezultāts pa pašvaldībām")
        await expect(table.get_by_role("row", name=re.compile("Rīga"))).to_be_visible()
        main = page.locator("main")
        assert await main.get_by_role("button").count() == 0
        assert await table.get_by_role("link").count() == 0
        for name in ("Publicēt", "Pārdalīt starp skolām", "Pasūtījumi pa skolām"):
            assert await main.get_by_role("link", name=name).count() == 0
        assert reason not in await page.content()
        for path in (f"/planning/allocations/{round_id}/adjustments",
                     f"/planning/allocations/{round_id}/municipalities/{RIGA}",
                     f"/planning/allocations/{round_id}/schools/{SCHOOL_1}",
                     f"/planning/allocations/{round_id}/inputs",
                     f"/planning/allocations/{round_id}/lines.csv",
                     f"/municipality/{RIGA}/allocations/{round_id}"):  # fmt: skip
            answer = await page.goto(f"{system.portal}{path}")
            assert answer is not None and answer.status == 404, path


class TestDeliveries:
    async def test_a_device_with_the_order_reference_counts_as_delivered(
        self, system: System, browser: Browser
    ) -> None:
        round_id, reference = await published_round(system)
        admin = await api_as(system, "municipality_admin")
        serial = f"D{uuid.uuid4().hex[:10].upper()}"
        await admin.ok("POST", "inventory", "/devices", json={
            "serial_number": serial, "asset_tag": serial, "catalogue_item_code": ITEM,
            "municipality_code": RIGA, "institution_registration_number": SCHOOL_1,
            "funding_source": "recovery_fund", "order_reference": reference,
        })  # fmt: skip
        manager = await api_as(system, "programme_manager")
        path = f"/allocations/{round_id}"
        deadline = time.monotonic() + 60
        while True:
            figures = await manager.call("GET", "statistics", path, params={"municipality": RIGA})
            if figures.is_success and figures.json()["totals"]["delivered"] >= 1:
                break
            assert time.monotonic() < deadline, figures.text
            await asyncio.sleep(1)
        page = await as_person(browser, system, "programme_manager")
        await page.goto(
            f"{system.portal}/planning/allocations/{round_id}/deliveries?municipality={RIGA}"
        )
        await check(page, "deliveries")
        shown = next(
            x for x in figures.json()["institutions"] if x["institution_number"] == SCHOOL_1
        )
        school = await line(manager, round_id, SCHOOL_1)
        rows = page.get_by_role("region", name="Rīgas valstspilsēta skolas")
        cells = rows.get_by_role("row", name=re.compile(school["name"])).get_by_role("cell")
        await expect(cells).to_have_text(
            [str(shown["allocated"]), str(shown["ordered"]), str(shown["delivered"])]
        )
