"""The whole journey in the browser, as the people who make it do it, on the whole system
(`make run`'s stack and demo data), in Latvian on a 320 px phone:

a guardian logs in through the Latvija.lv stand-in and reserves a computer for her daughter →
the school administrator approves it → the guardian signs the loan agreement (her login is by
then older than the contracts service allows for signing, so the portal sends her through a
strong Latvija.lv login and straight back) → the school hands the computer over and
countersigns → the guardian reports a broken screen with a photo → the technician resolves it →
the school records the return. Every step is checked through the services' APIs as well, and
every page the people see is checked with axe (WCAG 2.1 A/AA) and for sideways scrolling.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Browser, Page

from portal_service.i18n import translations
from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll
from shared_kit.testing.kafka import eventually
from shared_kit.testing.stack import AsyncApi

from .conftest import System, api_as, latvija_approves, log_in, require_approval

# A login older than this is too old to sign with (the default is 10 minutes; the journey's
# guardian would otherwise still be fresh from her morning login when she signs).
SIGN_MAX_AGE_S = 30
STACK_ENV = {"CONTRACTS_SIGN_MAX_AGE_S": str(SIGN_MAX_AGE_S)}
SCHOOL = "3113900101"  # Marta's school; Inese Ozola administers it
PHONE = {"viewport": {"width": 320, "height": 740}}


async def seen(page: Page) -> Page:
    """The page passes axe and fits the phone's width."""
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)
    return page


def photo_png() -> bytes:
    """A photo of a cracked screen (a small PNG)."""
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (20, 20, 20)).save(out, format="PNG")
    return out.getvalue()


async def phone(browser: Browser, system: System, person: str) -> Page:
    """A phone of its own (own cookies) with the person logged in through Latvija.lv."""
    context = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    page = await context.new_page()
    await log_in(page, system, person)
    await seen(page)
    return page


@pytest.fixture
async def people(browser: Browser, system: System) -> AsyncIterator[dict[str, Page]]:
    """The guardian, the school administrator and the technician, each on their own phone."""
    await require_approval(system)
    pages = {p: await phone(browser, system, p) for p in ("guardian", "school_admin", "technician")}
    yield pages
    for page in pages.values():
        await page.context.close()


async def reserve(page: Page, system: System) -> None:
    """Ilze reserves a computer for Marta, from her home page, with the period proposed."""
    await page.goto(f"{system.portal}/home")
    await page.get_by_role("button", name="Rezervēt datoru: Marta").click()
    await seen(page)  # Marta is chosen: her school's computers
    await page.get_by_label(re.compile("Chromebook, ChromeOS")).check()
    await page.get_by_role("button", name="Turpināt").click()
    await seen(page)  # the period: the end of the school year is filled in
    await page.get_by_role("button", name="Turpināt").click()
    await seen(page)
    await page.get_by_label(re.compile("Es audzinu bērnu viens")).check()
    await page.get_by_role("button", name="Turpināt").click()
    await page.get_by_role("heading", name="Pirms rezervēšanas pārbaudiet atbildes").wait_for()
    await seen(page)
    await page.get_by_role("button", name="Rezervēt datoru").click()
    # The school decides (the municipality's policy): the request waits for it.
    await page.get_by_role("heading", name="Rezervācija nosūtīta skolai").wait_for()
    await seen(page)


async def approve(page: Page, system: System, reservation: dict[str, Any]) -> None:
    """Inese opens the request from her school's approvals queue and approves it."""
    ref = str(reservation["id"])[:8].upper()
    await page.goto(f"{system.portal}/schools/{SCHOOL}")
    await page.get_by_role("link", name="Pieprasījumu apstiprināšana").click()
    await seen(page)
    await page.get_by_role("link", name=f"Izlemt (Pieprasījums {ref})").click()
    await seen(page)
    await page.get_by_role("button", name="Apstiprināt pieprasījumu").click()
    await page.get_by_role("alert").get_by_text(f"Pieprasījums {ref} ir apstiprināts").wait_for()
    await seen(page)


async def sign(page: Page, system: System, contract: dict[str, Any]) -> None:
    """Ilze follows her home page's task to the agreement, reads it, consents and signs: her
    login is too old by now, so Latvija.lv first, and straight back to the signing step."""
    url = f"{system.portal}/families/contracts/{contract['id']}"
    await page.goto(f"{system.portal}/home")
    await page.get_by_role("link", name=re.compile("^Parakstiet patapinājuma līgumu")).click()
    await page.wait_for_url(url)
    await page.get_by_role("heading", name="Izlasiet un parakstiet patapinājuma līgumu").wait_for()
    await seen(page)
    consent = page.get_by_role("checkbox", name=re.compile("piekrītu tā noteikumiem"))
    await consent.check()
    await page.get_by_role("button", name="Parakstīt līgumu").click()
    await page.get_by_role(
        "heading", name="Lai parakstītu, piesakieties caur Latvija.lv"
    ).wait_for()
    await seen(page)
    await page.get_by_role("button", name="Turpināt Latvija.lv").click()
    await latvija_approves(page, "guardian", then=url)
    await seen(page)
    await consent.check()
    await page.get_by_role("button", name="Parakstīt līgumu").click()
    await page.wait_for_url(f"{url}/signed")
    await page.get_by_text("Tagad līgums gaida skolas parakstu").wait_for()
    await seen(page)


async def hand_over(page: Page, system: System, contract: dict[str, Any]) -> None:
    """Inese hands the computer over: she confirms it and countersigns."""
    await page.goto(f"{system.portal}/schools/{SCHOOL}")
    await page.get_by_role("link", name="Ierīču izsniegšana").click()
    await seen(page)
    await page.get_by_role("link", name=f"Izsniegt (Līgums {contract['number']})").click()
    await seen(page)
    await page.get_by_role("checkbox", name=re.compile("Esmu izsniedzis ierīci")).check()
    await page.get_by_role("button", name="Parakstīt un izsniegt").click()
    await page.get_by_role("alert").get_by_text("Ierīce ir izsniegta").wait_for()
    await seen(page)


async def report(page: Page, system: System) -> str:
    """Ilze reports Marta's broken screen with a photo; the ticket's number."""
    await page.goto(f"{system.portal}/families/tickets")
    await seen(page)
    await page.get_by_role("button", name="Ziņot par problēmu").click()
    await seen(page)
    await page.get_by_role("radio").first.check()
    await page.get_by_role("button", name="Turpināt").click()
    await seen(page)
    await page.get_by_role("radio", name="Ekrāns ir saplīsis vai neko nerāda").check()
    await page.get_by_role("button", name="Turpināt").click()
    await page.get_by_label("Aprakstiet problēmu").fill("Ekrāns ieplaisāja, kad dators nokrita.")
    await seen(page)
    await page.get_by_role("button", name="Turpināt").click()
    await seen(page)
    async with page.expect_file_chooser() as chooser:
        await page.get_by_label("Problēmas fotoattēli").first.click()
    photo = {"name": "ekrans.png", "mimeType": "image/png", "buffer": photo_png()}
    await (await chooser.value).set_files([photo])  # type: ignore[list-item]
    await page.get_by_role("button", name="Pievienot šos fotoattēlus").click()
    await page.get_by_text("ekrans").first.wait_for()
    await page.get_by_role("button", name="Turpināt").click()
    await seen(page)
    await page.get_by_role("button", name="Nosūtīt pieteikumu").click()
    await page.get_by_role("heading", name="Pieteikums nosūtīts").wait_for()
    await seen(page)
    number = re.search(r"\d+", await page.locator(".govuk-panel__body").inner_text())
    assert number is not None
    return number[0]


async def resolve(page: Page, system: System, number: str) -> None:
    """Edgars takes the ticket from the queue, and resolves it."""
    await page.goto(f"{system.portal}/support")
    await seen(page)
    await page.get_by_role("link", name=re.compile(rf"^Nr\. {number}: ")).click()
    await seen(page)
    await page.get_by_role("button", name="Piešķirt man").click()
    await page.get_by_text("Pieteikums piešķirts jums.").wait_for()
    for status, fields in (
        ("Tiek risināts", {}),
        ("Atrisināts", {"Kas izdarīts (ja pieteikums atrisināts)": "Nomainīts ekrāns."}),
    ):
        await page.get_by_role("radio", name=status, exact=True).check()
        for label, value in fields.items():
            await page.get_by_label(label, exact=True).fill(value)
        await page.get_by_role("button", name="Mainīt statusu").click()
        await page.get_by_text("Statuss nomainīts.").wait_for()
    await seen(page)


async def take_back(page: Page, system: System, contract: dict[str, Any]) -> None:
    """Inese records the return at the end of the loan: in good condition, everything back."""
    await page.goto(f"{system.portal}/schools/{SCHOOL}")
    await page.get_by_role("link", name="Ierīču atgriešana").click()
    await seen(page)
    name = f"Reģistrēt atgriešanu (Līgums {contract['number']})"
    await page.get_by_role("link", name=name).click()
    await seen(page)
    await page.get_by_role("radio", name="Labs").check()
    await page.get_by_role("button", name="Reģistrēt atgriešanu").click()
    await page.get_by_role("alert").get_by_text("Atgriešana ir reģistrēta").wait_for()
    await seen(page)


def latvian_messages() -> set[str]:
    """Our Latvian messages that cannot occur in an English page (longer than a word or two)."""
    catalogue = translations("lv")._catalog  # type: ignore[attr-defined]
    texts = {str(v) for k, v in catalogue.items() if k and v and v != k}
    found = {t for t in texts if len(t) >= 15 and "%(" not in t}
    assert len(found) > 300, len(found)  # the catalogue was read
    return found


async def in_english(page: Page, system: System, paths: list[str]) -> None:
    """The person switches to English: each page is English (no Latvian message of ours on it)
    and passes axe."""
    await page.get_by_role("link", name="English").click()
    latvian = latvian_messages()
    for path in paths:
        await page.goto(f"{system.portal}{path}")
        assert await page.get_attribute("html", "lang") == "en"
        text = await page.locator("body").inner_text()
        left = sorted(t for t in latvian if t in text)
        assert not left, f"{path}: Latvian messages on the English page: {left}"
        await seen(page)


async def only(api: AsyncApi, service: str, **params: Any) -> dict[str, Any]:
    """The one item the person sees in the service's list."""
    items = (await api.ok("GET", service, "", params=params or None))["items"]
    assert len(items) == 1, items
    return dict(items[0])


async def state_is(api: AsyncApi, service: str, path: str, state: str, key: str = "state") -> Any:
    """Wait until the resource is in the state (events cross services); the resource."""

    async def reached() -> Any:
        found = await api.ok("GET", service, path)
        return found if found[key] == state else None

    return await eventually(reached, timeout_s=60)


async def test_reserve_approve_sign_hand_over_report_resolve_return(
    system: System, people: dict[str, Page]
) -> None:
    guardian, school, technician = [
        await api_as(system, p) for p in ("guardian", "school_admin", "technician")
    ]
    ilze, inese, edgars = people["guardian"], people["school_admin"], people["technician"]

    await reserve(ilze, system)
    reservation = await only(guardian, "reservations")
    assert reservation["state"] == "requested", reservation
    assert reservation["social_criteria"] == [{"criterion": "single_parent", "source": "declared"}]

    await approve(inese, system, reservation)
    approved = await school.ok("GET", "reservations", f"/{reservation['id']}")
    assert approved["state"] == "approved" and approved["device_id"], approved
    device = approved["device_id"]

    async def drafted() -> Any:
        items = (await guardian.ok("GET", "contracts", ""))["items"]
        return next((c for c in items if c["state"] == "awaiting_borrower"), None)

    contract = await eventually(drafted, timeout_s=60)
    await asyncio.sleep(SIGN_MAX_AGE_S)  # the evening after: her login is too old to sign
    await sign(ilze, system, contract)
    signed = await guardian.ok("GET", "contracts", f"/{contract['id']}")
    assert signed["state"] == "awaiting_lender", signed

    await hand_over(inese, system, contract)
    await state_is(school, "contracts", f"/{contract['id']}", "active")
    await state_is(school, "inventory", f"/devices/{device}", "on_loan", key="status")
    await state_is(guardian, "reservations", f"/{reservation['id']}", "fulfilled")

    number = await report(ilze, system)
    ticket = await only(guardian, "tickets")
    assert (str(ticket["number"]), ticket["device_id"], ticket["category"]) == (
        number,
        device,
        "screen",
    )
    assert len(await guardian.ok("GET", "tickets", f"/{ticket['id']}/photos")) == 1

    await resolve(edgars, system, number)
    resolved = await technician.ok("GET", "tickets", f"/{ticket['id']}")
    assert resolved["state"] == "resolved" and resolved["resolution"] == "Nomainīts ekrāns."
    await ilze.goto(f"{system.portal}/families/tickets/{ticket['id']}")
    await ilze.get_by_text("Atrisināts").first.wait_for()
    await seen(ilze)

    await take_back(inese, system, contract)
    returned = await school.ok("GET", "contracts", f"/{contract['id']}/return")
    assert returned["condition"] == "good", returned
    await state_is(school, "inventory", f"/devices/{device}", "available", key="status")

    # The same people's pages in English.
    await in_english(ilze, system, ["/home", f"/families/reservations/{reservation['id']}",
                                     f"/families/contracts/{contract['id']}",
                                     f"/families/tickets/{ticket['id']}", "/families/reserve",
                                     "/notifications", "/settings/contact",
                                     "/settings/notifications"])  # fmt: skip
    await in_english(inese, system, [f"/schools/{SCHOOL}", f"/schools/{SCHOOL}/approvals",
                                     f"/schools/{SCHOOL}/handovers", f"/schools/{SCHOOL}/loans",
                                     "/notifications", "/settings/notifications"])  # fmt: skip
    await in_english(edgars, system, ["/support", f"/support/tickets/{ticket['id']}"])
