"""A guardian's home and reserving a computer, in a real browser on the whole system (`make
run`'s stack with its demo data): every step with bad input first, axe on every page, 320 px
without sideways scrolling, the keyboard alone, JavaScript off; outcomes checked through the
reservations API as the guardian; another family's reservation is "not found".

The stack is shared with the other families' modules (`SHARED_STACK`): this module's families
are its own (Anna Priedīte with Elza and Aleksandrs; Juris Eglītis with Kārlis), the municipality
approves at once as it does by default, and the free devices are what the service says before
the page shows them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll

from .conftest import System, api_as, approve_at_once, context_without_js, log_in

SHARED_STACK = "families"
DEMO_SCHOOL = "3113900101"  # the first demo school: Elza's and Kārlis'
GUARDIAN = "reserve_guardian"  # Anna: Elza at the first demo school, Aleksandrs at the second
OTHER_GUARDIAN = "reserve_other_guardian"  # Juris: Kārlis at the first demo school
PHONE = {"viewport": {"width": 320, "height": 700}}
ERROR_SUMMARY = "Radās problēma"


async def checked(page: Page) -> Page:
    """The page passes axe (WCAG 2.1 A/AA) and does not scroll sideways."""
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)
    return page


async def refused_with(page: Page, message: str, *, scripts: bool = True) -> None:
    """The form came back with the error summary and the message at the field (not an error
    page): the summary links to the field, whose own message says the same."""
    summary = page.get_by_role("alert")
    await summary.get_by_text(ERROR_SUMMARY).wait_for()
    await summary.get_by_role("link", name=message).wait_for()
    assert await page.locator(".govuk-error-message").filter(has_text=message).count() == 1
    assert (await page.title()).startswith("Kļūda:"), await page.title()
    if scripts:  # axe runs in the page: not where JavaScript is off (the same pages run it)
        await checked(page)


async def fill_date(page: Page, day: str, month: str, year: str) -> None:
    """The date input's three fields."""
    await page.get_by_label("Diena", exact=True).fill(day)
    await page.get_by_label("Mēnesis", exact=True).fill(month)
    await page.get_by_label("Gads", exact=True).fill(year)


async def proceed(page: Page) -> None:
    await page.get_by_role("button", name="Turpināt").click()


async def reservations_of(system: System, person: str) -> list[dict[str, Any]]:
    """The person's reservations as the reservations API shows them to that person."""
    api = await api_as(system, person)
    return list((await api.ok("GET", "reservations", ""))["items"])


@pytest.fixture(scope="module", autouse=True)
async def approving_at_once(system: System) -> None:
    """Reservations are approved at once (the demo default; a module sharing the stack may
    have made them wait for the school)."""
    await approve_at_once(system)


async def free_now(system: System, person: str, school: str, item: str) -> str:
    """The hint the device step shows for an item: its free and lendable devices, as the
    reservations service offers them to the person now."""
    api = await api_as(system, person)
    offer = await api.ok("GET", "reservations", "/availability/offer",
                         params={"institution_number": school})  # fmt: skip
    (found,) = [i for i in offer["items"] if i["catalogue_item_code"] == item]
    return f"Brīvi: {found['free']} no {found['matching']}"


async def reserve_for_first_child(system: System, person: str = GUARDIAN) -> dict[str, Any]:
    """A reservation of a family's first child, made through the API with the guardian's
    token."""
    guardian = await api_as(system, person)
    child = (await guardian.ok("GET", "gateway", "/me"))["children"][0]
    body = {
        "learner_id": child["id"],
        "institution_number": child["school"]["registration_number"],
    }
    return dict(await guardian.ok("POST", "reservations", "", json=body))


class TestReserveInTheBrowser:
    async def test_a_guardian_reserves_sees_it_on_home_and_cancels(
        self, system: System, browser: Browser
    ) -> None:
        context = await browser.new_context(**PHONE)  # type: ignore[arg-type]
        page = await context.new_page()
        await log_in(page, system, GUARDIAN)
        await checked(page)
        await page.get_by_role("heading", name="Elza Priedīte").wait_for()

        await page.goto(f"{system.portal}/families/reserve")
        await checked(page)
        await proceed(page)  # no child chosen
        await refused_with(page, "Izvēlieties bērnu, kuram rezervējat datoru")
        await page.get_by_label("Elza Priedīte").check()
        await proceed(page)

        await checked(page)
        # 80 of 80 on a stack of its own; other modules' loans at the school on a shared one.
        await page.get_by_text(
            await free_now(system, GUARDIAN, DEMO_SCHOOL, "CB-116-TOUCH-G1-3")
        ).wait_for()
        await proceed(page)  # no computer chosen
        await refused_with(page, "Izvēlieties datoru, ko vēlaties rezervēt")
        await page.get_by_label(re.compile("Chromebook, ChromeOS")).check()
        await proceed(page)

        await checked(page)
        await fill_date(page, "31", "2", "2027")
        await proceed(page)  # 31 February
        await refused_with(page, "Ievadiet pareizu datumu, piemēram, 15 3 2027")
        await fill_date(page, "1", "3", "2020")  # before today: the service refuses it
        await proceed(page)

        await checked(page)
        await proceed(page)  # nothing ticked
        await refused_with(page, "Atzīmējiet attiecīgos apstākļus vai 'Neviens no šiem'")
        await page.get_by_label("Es audzinu bērnu viens (viena vecāka ģimene)").check()
        await proceed(page)

        await checked(page)
        await page.get_by_role("heading", name="Pirms rezervēšanas pārbaudiet atbildes").wait_for()
        await page.get_by_role("button", name="Rezervēt datoru").click()
        # The service refused the period: its message is at the end date, on the period step.
        await refused_with(page, "Patapinājuma beigu datumam jābūt pēc šodienas")
        assert await reservations_of(system, GUARDIAN) == []
        soon = dt.date.today() + dt.timedelta(days=60)
        await fill_date(page, str(soon.day), str(soon.month), str(soon.year))
        await proceed(page)  # back to the check page, the other answers kept
        await page.get_by_text("Viena vecāka ģimene").wait_for()
        await page.get_by_role("button", name="Rezervēt datoru").click()

        await checked(page)
        await page.get_by_role("heading", name="Dators rezervēts").wait_for()
        [reservation] = await reservations_of(system, GUARDIAN)
        assert reservation["state"] == "approved"
        assert reservation["criteria"]["catalogue_item_code"] == "CB-116-TOUCH-G1-3"
        assert reservation["social_criteria"] == [
            {"criterion": "single_parent", "source": "declared"}
        ]

        await page.get_by_role("link", name="Uz sākumlapu").click()
        await checked(page)
        await page.get_by_text("Apstiprināta").wait_for()
        await page.get_by_text(re.compile("Saņemiet datoru skolā — termiņš:")).wait_for()

        await page.get_by_role("link", name="Skatīt rezervāciju").click()
        await checked(page)
        await page.get_by_role("button", name="Atcelt rezervāciju").click()
        await checked(page)
        await page.get_by_role("button", name="Jā, atcelt rezervāciju").click()
        await checked(page)
        await page.get_by_text("Rezervācija ir atcelta.").wait_for()
        [reservation] = await reservations_of(system, GUARDIAN)
        assert reservation["state"] == "cancelled"
        await context.close()

    async def test_the_keyboard_alone_reserves(
        self, system: System, context: BrowserContext
    ) -> None:
        page = await context.new_page()
        await log_in(page, system, GUARDIAN)
        await page.goto(f"{system.portal}/families/reserve")
        await tab_to(page, "Aleksandrs Priedītis")
        await page.keyboard.press("Space")
        await tab_to(page, "Turpināt")
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Kādu datoru vēlaties rezervēt?").wait_for()
        # Tab reaches a radio group once (its first option); arrows would move inside it.
        await tab_to(page, re.compile("^Monobloka dators, Windows"))
        await page.keyboard.press("Space")
        await tab_to(page, "Turpināt")
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Cik ilgi jums vajag datoru?").wait_for()
        # The date is filled in with the school year's last day.
        await tab_to(page, "Turpināt")
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name=re.compile("Vai kāds no šiem")).wait_for()
        await tab_to(page, "Neviens no šiem")
        await page.keyboard.press("Space")
        await tab_to(page, "Turpināt")
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Pirms rezervēšanas pārbaudiet atbildes").wait_for()
        await tab_to(page, "Rezervēt datoru")
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Dators rezervēts").wait_for()
        mine = [r for r in await reservations_of(system, GUARDIAN) if r["state"] == "approved"]
        assert [r["criteria"]["category"] for r in mine] == ["all_in_one"]


async def tab_to(page: Page, name: str | re.Pattern[str], presses: int = 40) -> None:
    """Press Tab until the focused element's label (or text) is `name`."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        label = await page.evaluate(
            "(() => { const e = document.activeElement;"
            " return ((e.labels && e.labels[0]) ? e.labels[0].innerText : e.innerText || '')"
            ".trim(); })()"
        )
        if name.search(label) if isinstance(name, re.Pattern) else label == name:
            return
    raise AssertionError(f"Tab never reached {name!r} on {page.url}")


class TestWithoutJavaScript:
    async def test_the_other_family_reserves_and_cannot_see_the_first_familys(
        self, system: System, browser: Browser
    ) -> None:
        async with context_without_js(browser, **PHONE) as context:
            page = await context.new_page()
            await log_in(page, system, OTHER_GUARDIAN)
            await page.get_by_role("button", name="Rezervēt datoru: Kārlis").click()
            await page.get_by_label(re.compile("Chromebook, ChromeOS")).check()
            await proceed(page)
            await proceed(page)  # until the end of the school year, as filled in
            await page.get_by_label("Mūsu ģimenē ir 3 vai vairāk bērni").check()
            await page.get_by_label("Neviens no šiem").check()  # no script unticks the others
            await proceed(page)
            await refused_with(
                page,
                "Atzīmējiet vai nu attiecīgos apstākļus, vai 'Neviens no šiem', bet ne abus",
                scripts=False,
            )
            await page.get_by_label("Neviens no šiem").uncheck()
            await proceed(page)
            await page.get_by_role("button", name="Rezervēt datoru").click()
            await page.get_by_role("heading", name="Dators rezervēts").wait_for()
            [own] = await reservations_of(system, OTHER_GUARDIAN)
            assert own["social_criteria"] == [{"criterion": "large_family", "source": "declared"}]

            first_family = await reservations_of(system, GUARDIAN) or [
                await reserve_for_first_child(system)
            ]
            for reservation in first_family:
                for path in ("", "/cancel"):
                    url = f"{system.portal}/families/reservations/{reservation['id']}{path}"
                    answer = await page.goto(url)
                    assert answer is not None and answer.status == 404, url
                    await page.get_by_role("heading", name="Lapa nav atrasta").wait_for()
            answer = await page.goto(
                f"{system.portal}/families/reserve/done/{first_family[0]['id']}"
            )
            assert answer is not None and answer.status == 404
