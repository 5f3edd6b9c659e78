"""Failed messages for the platform administrator, on the whole system (`make run`'s stack with
its mail sink), in a real browser on a phone: a guardian verifies an e-mail address; the sink
then refuses mail (its outage switch: 421) while the guardian's reservation is approved, so with
one attempt allowed the message ends `failed`. The platform administrator finds it on
"Neizdevušies sūtījumi", sends it again once the sink is back, and the message arrives; a stale
page's second try says the message is no longer failed; an unknown delivery is not found. A
guardian and a school administrator get "not found" for the page and see no link to it. axe and
320 px on every page; screenshots at 320 and 1280 px are kept in the test's folder."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page

from .conftest import System, api_as, log_in
from .test_families_reserve import PHONE, checked, reserve_for_first_child
from .test_notices import code_sent_to, csrf_of, mail_to

# One attempt, then `failed`: the outage makes the failure the test needs, at once.
STACK_ENV = {"NOTIFICATIONS_DISPATCH_MAX_ATTEMPTS": "1", "NOTIFICATIONS_RETRY_BASE_S": "1"}
ADDRESS = "ilze.platform@example.lv"
PAGE = "/platform/deliveries"
SUBJECT = "Jūsu rezervācija ir apstiprināta"
NOT_FOUND = "Lapa nav atrasta"


async def outage(system: System, down: bool) -> None:
    """Switch the mail sink's outage on (421 to every sender) or off."""
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(f"{system.urls.mail}/api/outage", json={"down": down})
    assert answer.json() == {"down": down}


async def failed_of(system: System, kind: str) -> dict[str, Any]:
    """The failed delivery of a kind, once the notifications service gave up on it."""
    admin = await api_as(system, "platform_admin")
    deadline = time.monotonic() + 60
    while True:
        page = await admin.ok("GET", "notifications", "/deliveries", params={"state": "failed"})
        found = next((d for d in page["items"] if d["kind"] == kind), None)
        if found is not None:
            return dict(found)
        assert time.monotonic() < deadline, f"no failed {kind}: {page['items']}"
        await asyncio.sleep(0.5)


async def arrived(system: System, subject: str) -> list[dict[str, Any]]:
    """The messages to the guardian's address with a subject, once at least one is there."""
    deadline = time.monotonic() + 30
    while True:
        found = [m for m in await mail_to(system, ADDRESS) if m["subject"] == subject]
        if found:
            return found
        assert time.monotonic() < deadline, f"{subject!r} did not arrive"
        await asyncio.sleep(0.3)


@pytest.fixture(scope="module")
async def failed(system: System) -> dict[str, Any]:
    """A guardian's "reservation approved" e-mail that failed during a mail outage."""
    guardian = await api_as(system, "guardian")
    path = "/me/contact-points/email"
    answer = await guardian.call("PUT", "notifications", path, json={"address": ADDRESS})
    assert answer.status_code == 202, answer.text
    code = await code_sent_to(system, ADDRESS)
    await guardian.ok("POST", "notifications", f"{path}/verify", json={"code": code})
    await outage(system, True)
    try:
        await reserve_for_first_child(system, "guardian")  # the demo municipality approves at once
        delivery = await failed_of(system, "reservation_approved")
    finally:
        await outage(system, False)
    assert (delivery["channel"], delivery["attempts"]) == ("email", 1)
    assert "421" in delivery["last_error"] and ADDRESS not in str(delivery)
    assert not [m for m in await mail_to(system, ADDRESS) if m["subject"] == SUBJECT]
    return delivery


async def as_admin(browser: Browser, system: System, width: int = 320) -> Page:
    context = await browser.new_context(**{**PHONE, "viewport": {"width": width, "height": 740}})  # type: ignore[arg-type]
    page = await context.new_page()
    await log_in(page, system, "platform_admin")
    return page


def retry_button(page: Page) -> Any:
    """The row's button, named with its message (a visually hidden part, set apart by a space)."""
    name = re.compile(r"^Sūtīt vēlreiz\W+Rezervācija apstiprināta")
    return page.get_by_role("button", name=name)


class TestFailedMessages:
    async def test_the_admin_sends_a_failed_message_again_and_it_arrives(
        self, system: System, browser: Browser, failed: dict[str, Any], tmp_path: Path
    ) -> None:
        page = await as_admin(browser, system)
        await checked(page)
        await page.get_by_role("link", name="Platformas administrators").wait_for()
        await page.get_by_role("link", name="Neizdevušies sūtījumi").first.click()
        assert page.url.endswith(PAGE)
        await page.get_by_role("heading", level=1, name="Neizdevušies sūtījumi").wait_for()
        await checked(page)
        table = page.get_by_role("table")
        row = table.get_by_role("row").filter(has_text="Rezervācija apstiprināta")
        await row.get_by_text("E-pasts").wait_for()
        await row.get_by_text("1 mēģinājums").wait_for()
        await row.get_by_text("421").wait_for()
        await page.screenshot(path=str(tmp_path / "failed-320.png"), full_page=True)
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.screenshot(path=str(tmp_path / "failed-1280.png"), full_page=True)
        await page.set_viewport_size({"width": 320, "height": 740})

        await retry_button(page).click()
        banner = page.get_by_role("alert")  # the design system's success banner
        await banner.get_by_text("Sūtīšana atsākta").wait_for()
        await checked(page)
        assert page.url.endswith(f"{PAGE}?outcome=retried")
        [message] = await arrived(system, SUBJECT)  # once
        assert message["to"] == [ADDRESS]
        admin = await api_as(system, "platform_admin")
        items = await admin.ok("GET", "notifications", "/deliveries", params={"state": "sent"})
        assert failed["id"] in [d["id"] for d in items["items"]]
        await page.context.close()


class TestStaleAndUnknown:
    async def test_a_second_try_from_a_stale_page_says_it_is_no_longer_failed(
        self, system: System, browser: Browser
    ) -> None:
        # A second failed message: the sink is down while the guardian is told something new.
        await outage(system, True)
        try:
            guardian = await api_as(system, "guardian")
            child = (await guardian.ok("GET", "gateway", "/me"))["children"][1]
            body = {"learner_id": child["id"],
                    "institution_number": child["school"]["registration_number"]}  # fmt: skip
            await guardian.ok("POST", "reservations", "", json=body)
            await failed_of(system, "reservation_approved")
        finally:
            await outage(system, False)
        first = await as_admin(browser, system)
        second = await first.context.new_page()
        for page in (first, second):
            await page.goto(f"{system.portal}{PAGE}")
        await retry_button(first).click()
        await first.get_by_text("Sūtīšana atsākta").wait_for()
        await retry_button(second).click()  # the page still shows it as failed
        banner = second.get_by_role("region", name="Svarīgi")
        await banner.get_by_text("Šis sūtījums vairs nav neizdevies").wait_for()
        await checked(second)
        await first.context.close()

    async def test_an_unknown_delivery_is_not_found(self, system: System, browser: Browser) -> None:
        page = await as_admin(browser, system)
        await page.goto(f"{system.portal}{PAGE}")
        csrf = await csrf_of(page)  # the session's (the header's log-out form carries it)
        answer = await page.request.post(
            f"{system.portal}{PAGE}/{uuid.uuid4()}/retry", form={"csrf_token": csrf}
        )
        assert answer.status == 404 and NOT_FOUND in await answer.text()
        answer = await page.request.post(
            f"{system.portal}{PAGE}/not-an-id/retry", form={"csrf_token": csrf}
        )
        assert answer.status == 404
        await page.context.close()


class TestOthersDoNotFindIt:
    @pytest.mark.parametrize("person", ["guardian", "school_admin"])
    async def test_the_page_is_not_found_and_not_linked(
        self, system: System, browser: Browser, person: str
    ) -> None:
        context = await browser.new_context(**PHONE)  # type: ignore[arg-type]
        page = await context.new_page()
        await log_in(page, system, person)
        assert await page.get_by_role("link", name="Neizdevušies sūtījumi").count() == 0
        answer = await page.goto(f"{system.portal}{PAGE}")
        assert answer is not None and answer.status == 404
        await page.get_by_role("heading", level=1, name=NOT_FOUND).wait_for()
        await checked(page)
        await context.close()

    async def test_the_service_refuses_them_too(self, system: System) -> None:
        guardian = await api_as(system, "guardian")
        answer = await guardian.call("GET", "notifications", "/deliveries")
        assert answer.status_code == 403
