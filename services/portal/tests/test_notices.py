"""The notification pages on the whole system (`make run`'s stack with its local mail sink), in
a real browser on a phone: a guardian adds an e-mail address and verifies it with the code the
sink received (a wrong code first), and a mobile number with the SMS stand-in's (one the
provider refuses first), then removes it; sees the notices an approved reservation brings, with the
unread count in the header, and marks them read; turns a kind off and cannot turn an essential
one off; another guardian sees none of it. axe and 320 px on every page; outcomes checked
through the notifications API as the person.

The stack is shared with the other families' modules (`SHARED_STACK`): the two guardians here
are this module's own (Zane Kļaviņa, Paula's mother; Ivars Jansons), with their own address and
number, and the municipality approves at once as it does by default."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page

from .conftest import System, api_as, approve_at_once, log_in
from .test_families_reserve import PHONE, checked, refused_with, reserve_for_first_child

SHARED_STACK = "families"
GUARDIAN = "notices_guardian"  # Zane Kļaviņa, Paula's mother
OTHER_GUARDIAN = "notices_other_guardian"  # Ivars Jansons
ADDRESS = "paula.mamma@example.lv"
CODE = re.compile(r"\b(\d{6})\b")


async def mail_to(system: System, address: str) -> list[dict[str, Any]]:
    """The messages the stack's mail sink received for an address, oldest first (its inbox's
    JSON API)."""
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(f"{system.urls.mail}/api/messages", params={"to": address})
    answer.raise_for_status()
    return list(answer.json())


async def code_sent_to(system: System, address: str, *, after: int = 0) -> str:
    """The one-time code in the newest message to the address, once more than `after`
    messages reached it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        messages = await mail_to(system, address)
        if len(messages) > after:
            text = str(messages[-1]["text"])
            found = CODE.search(text)
            assert found is not None, text
            return found[1]
        await asyncio.sleep(0.3)
    raise AssertionError(f"no message to {address} reached the sink")


async def text_code(system: System, number: str) -> str:
    """The one-time code in the newest text message the SMS stand-in took for a number."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        async with httpx.AsyncClient(timeout=10) as client:
            sent = (await client.get(f"{system.urls.sms}/api/v1/messages")).json()
        texts = [m["text"] for m in sent if m["to"] == number]
        if texts and (found := CODE.search(texts[-1])):
            return found[1]
        await asyncio.sleep(0.3)
    raise AssertionError(f"no text message to {number}")


async def unread(system: System, person: str) -> int:
    api = await api_as(system, person)
    return int((await api.ok("GET", "notifications", "/me/notices/unread-count"))["unread"])


async def notice_of(system: System, person: str, kind: str) -> dict[str, Any]:
    """The person's newest notice of a kind, once the notifications service made it."""
    api = await api_as(system, person)
    deadline = time.monotonic() + 60
    while True:
        items = (await api.ok("GET", "notifications", "/me/notices"))["items"]
        found = next((n for n in items if n["kind"] == kind), None)
        if found is not None:
            return dict(found)
        assert time.monotonic() < deadline, f"{person} was not told {kind}"
        await asyncio.sleep(0.5)


async def settled(system: System, person: str) -> None:
    """The person's unread count has stopped growing (the events behind it are all in)."""
    last, steady = -1, 0
    while steady < 4:
        count = await unread(system, person)
        steady, last = (steady + 1, last) if count == last else (0, count)
        await asyncio.sleep(0.5)


async def phone(browser: Browser) -> BrowserContext:
    return await browser.new_context(**PHONE)  # type: ignore[arg-type]


async def csrf_of(page: Page) -> str:
    return str(await page.locator("input[name=csrf_token]").first.get_attribute("value"))


@pytest.fixture(scope="module", autouse=True)
async def approving_at_once(system: System) -> None:
    """Reservations are approved at once (the demo default; a module sharing the stack may
    have made them wait for the school)."""
    await approve_at_once(system)


class TestContactDetails:
    async def test_a_guardian_adds_an_email_and_verifies_it_with_the_code(
        self, system: System, browser: Browser
    ) -> None:
        context = await phone(browser)
        page = await context.new_page()
        await log_in(page, system, GUARDIAN)
        await page.get_by_role("link", name=re.compile("^Paziņojumi")).click()
        await checked(page)
        await page.get_by_role("link", name="Jūsu e-pasts un mobilā tālruņa numurs").click()
        await checked(page)
        await page.get_by_role("link", name="Pievienot (E-pasta adrese)").click()
        await checked(page)

        send = page.get_by_role("button", name="Nosūtīt kodu")
        await send.click()  # nothing typed
        await refused_with(
            page, "Ievadiet pareiza formāta e-pasta adresi, piemēram, vards@example.com"
        )
        await page.get_by_label("Pievienojiet savu e-pasta adresi").fill(ADDRESS)
        await send.click()

        await page.get_by_text(f"Mēs nosūtījām kodu uz {ADDRESS}.").wait_for()
        assert ADDRESS not in page.url
        await checked(page)
        code = await code_sent_to(system, ADDRESS)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        await page.get_by_label("Kods", exact=True).fill(wrong)
        await page.get_by_role("button", name="Turpināt").click()
        summary = page.get_by_role("alert")
        await summary.get_by_role("link", name=re.compile(r"^Kods nav pareizs\.")).wait_for()
        await checked(page)

        await page.get_by_label("Kods", exact=True).fill(code)
        await page.get_by_role("button", name="Turpināt").click()
        await page.get_by_text("Jūsu e-pasta adrese ir apstiprināta.").wait_for()
        await page.get_by_text("Apstiprināts", exact=True).wait_for()
        await checked(page)

        guardian = await api_as(system, GUARDIAN)
        points = await guardian.ok("GET", "notifications", "/me/contact-points")
        email = next(p for p in points if p["channel"] == "email")
        assert email["address"] == ADDRESS and email["verified"] is True
        await context.close()

    async def test_a_mobile_number_refused_then_verified_by_text_then_removed(
        self, system: System, browser: Browser
    ) -> None:
        context = await phone(browser)
        page = await context.new_page()
        path = "/settings/contact/sms"
        await log_in(page, system, GUARDIAN, start=path, lands_on=path)
        field = page.get_by_label("Pievienojiet savu mobilā tālruņa numuru")
        send = page.get_by_role("button", name="Nosūtīt kodu")
        await field.fill("+371 2000 0042")  # a number the provider cannot reach
        await send.click()
        await refused_with(page, "Šo adresi nevar izmantot. Pārbaudiet to vai ievadiet citu")
        await field.fill("2612 3456")
        await send.click()
        await page.get_by_text("Mēs nosūtījām kodu īsziņā uz +37126123456.").wait_for()
        await checked(page)
        await page.get_by_label("Kods", exact=True).fill(await text_code(system, "+37126123456"))
        await page.get_by_role("button", name="Turpināt").click()
        await page.get_by_text("Jūsu mobilā tālruņa numurs ir apstiprināts.").wait_for()

        await page.get_by_role(
            "link", name=re.compile(r"^Noņemt\s*\(Mobilā tālruņa numurs\)")
        ).click()
        await page.get_by_role("heading", name="Noņemt jūsu mobilā tālruņa numuru?").wait_for()
        await checked(page)
        await page.get_by_role("button", name="Jā, noņemt").click()
        await page.get_by_text("Jūsu mobilā tālruņa numurs ir noņemts.").wait_for()
        guardian = await api_as(system, GUARDIAN)
        points = await guardian.ok("GET", "notifications", "/me/contact-points")
        assert [p["channel"] for p in points] == ["email"]
        await context.close()


class TestNotices:
    async def test_an_approval_is_in_the_header_count_and_is_marked_read(
        self, system: System, browser: Browser
    ) -> None:
        await reserve_for_first_child(system, GUARDIAN)  # the municipality approves at once
        approved = await notice_of(system, GUARDIAN, "reservation_approved")
        await settled(system, GUARDIAN)
        context = await phone(browser)
        page = await context.new_page()
        await log_in(page, system, GUARDIAN)
        header = page.get_by_role("link", name=re.compile(r"^Paziņojumi \((\d+) nelasīt"))
        shown = re.search(r"\((\d+)", await header.inner_text())
        assert shown is not None and int(shown[1]) == await unread(system, GUARDIAN)
        await header.click()
        await checked(page)
        item = page.locator(f"[id='notice-{approved['id']}']")
        await item.get_by_text("Jauns").wait_for()
        about = rf"\s*\({re.escape(approved['title'])}\)$"
        await item.get_by_role("link", name=re.compile("^Atvērt" + about)).wait_for()

        await item.get_by_role("button", name=re.compile("^Atzīmēt kā izlasītu" + about)).click()
        await page.wait_for_url(re.compile(r"/notifications(\?|#|$)"))
        assert (await notice_of(system, GUARDIAN, "reservation_approved"))["read_at"]
        assert await item.get_by_text("Jauns").count() == 0
        await checked(page)

        if await unread(system, GUARDIAN):
            await page.get_by_role("button", name="Atzīmēt visus kā izlasītus").click()
            await page.wait_for_url(re.compile(r"/notifications(\?|#|$)"))
        assert await unread(system, GUARDIAN) == 0
        assert await page.get_by_text("Jauns", exact=True).count() == 0
        await page.get_by_role("link", name="Paziņojumi", exact=True).wait_for()
        await context.close()


class TestPreferences:
    async def test_a_kind_turned_off_and_an_essential_one_that_cannot_be(
        self, system: System, browser: Browser
    ) -> None:
        context = await phone(browser)
        page = await context.new_page()
        path = "/settings/notifications"
        await log_in(page, system, GUARDIAN, start=path, lands_on=path)
        await checked(page)

        approved = page.get_by_role("group", name="Rezervācija apstiprināta")
        await approved.get_by_label("Ieslēgts").uncheck()
        await page.get_by_role("button", name="Saglabāt").click()
        await page.get_by_text("Jūsu paziņojumu iestatījumi ir saglabāti.").wait_for()
        await checked(page)
        guardian = await api_as(system, GUARDIAN)
        kinds = {
            k["kind"]: k
            for k in (await guardian.ok("GET", "notifications", "/me/preferences"))["kinds"]
        }
        assert kinds["reservation_approved"]["enabled"] is False

        sign = page.get_by_role("group", name="Patapinājuma līgums gatavs parakstīšanai")
        await sign.get_by_text("Vienmēr ieslēgts").wait_for()
        assert await sign.get_by_label("Ieslēgts").count() == 0
        # A form that says "off" for it anyway (its hidden "on" dropped) is refused by the service.
        await page.locator("input[type=hidden][name=contract_ready_to_sign]").evaluate(
            "e => e.remove()"
        )
        await page.get_by_role("button", name="Saglabāt").click()
        await refused_with(
            page,
            "Šos nevar izslēgt: tie ir par jūsu bērna datora patapinājumu. Izvēlieties, kā tos saņemt.",
        )
        kinds = {
            k["kind"]: k
            for k in (await guardian.ok("GET", "notifications", "/me/preferences"))["kinds"]
        }
        assert kinds["contract_ready_to_sign"]["enabled"] is True
        await context.close()

    async def test_switching_the_portal_to_english_tells_the_notifications_service(
        self, system: System, browser: Browser
    ) -> None:
        context = await phone(browser)
        page = await context.new_page()
        await log_in(
            page, system, OTHER_GUARDIAN, start="/notifications", lands_on="/notifications"
        )
        await page.get_by_role("link", name="English").click()
        await page.get_by_role("heading", name="Notifications").wait_for()
        await checked(page)
        other = await api_as(system, OTHER_GUARDIAN)
        assert (await other.ok("GET", "notifications", "/me/preferences"))["language"] == "en"
        await context.close()


class TestAnotherFamily:
    async def test_another_guardian_sees_neither_the_address_nor_the_notices(
        self, system: System, browser: Browser
    ) -> None:
        guardian = await api_as(system, GUARDIAN)
        notices = (await guardian.ok("GET", "notifications", "/me/notices"))["items"]
        context = await phone(browser)
        page = await context.new_page()
        path = "/settings/contact"
        await log_in(page, system, OTHER_GUARDIAN, start=path, lands_on=path)
        assert ADDRESS not in await page.content()
        await page.get_by_text("Nav pievienots").first.wait_for()
        await page.goto(f"{system.portal}/notifications")
        assert notices, "the first guardian has notices to hide"
        for notice in notices:
            assert await page.locator(f"[id='notice-{notice['id']}']").count() == 0
        other = await api_as(system, OTHER_GUARDIAN)
        theirs = (await other.ok("GET", "notifications", "/me/notices"))["items"]
        assert not {n["id"] for n in theirs} & {n["id"] for n in notices}
        # Marking the first guardian's notice read is "not found".
        answer = await page.request.post(
            f"{system.portal}/notifications/{notices[0]['id']}/read",
            form={"csrf_token": await csrf_of(page)},
            max_redirects=0,
        )
        assert answer.status == 404

        # Malformed addresses and forms are pages that say so, never a crash.
        token = await csrf_of(page)
        for path, form in [
            ("/notifications?cursor=not*a*cursor", None),
            ("/notifications?cursor=bm90LW91cnM", None),
            ("/settings/contact/fax", None),
            ("/notifications/not-an-id/read", {"csrf_token": token}),
            ("/settings/contact/fax/code", {"csrf_token": token, "code": "123456"}),
            ("/settings/notifications", {"csrf_token": token, "language": "xx"}),
        ]:
            url = f"{system.portal}{path}"
            sent = page.request.post(url, form=form) if form else page.request.get(url)
            assert 400 <= (await sent).status < 500, path
        await context.close()
