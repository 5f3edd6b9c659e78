"""A guardian signs the loan agreement in the browser, on the whole system (`make run`'s stack).

The reservations before it are made through the APIs with the demo people's own tokens; the
pages are driven as a parent does (roles, labels, visible text) at 320 px, with axe on every
page; the outcome is checked through the contracts API. A weak login (E-klase, Mykoob) goes
through Latvija.lv and straight back to the agreement; another family's agreement is not found.

The stack is shared with the other families' modules (`SHARED_STACK`), whose families are their
own: the demo guardian (Ilze, with Marta and Jānis) and the other family (Kristīne, with Emīls)
act here alone, and reservations wait for the school from this module's start.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from shared_kit.testing.browser import assert_accessible, assert_no_sideways_scroll

from .conftest import System, api_as, latvija_approves, require_approval

SHARED_STACK = "families"
DEMO_SCHOOL = "3113900101"  # the school of Marta (the demo guardian's) and Emīls (the other's)
OTHER_SCHOOL = "3113900102"  # Jānis' (the demo guardian's older child)
PHONE = {"width": 320, "height": 800}
SIGN = "Parakstīt līgumu"
SHOTS = itertools.count(1)


@dataclass
class Agreements:
    """The contracts drafted for the demo families' approved reservations."""

    marta: dict[str, Any]  # the demo guardian's, at the demo school
    janis: dict[str, Any]  # the demo guardian's, at the other school
    emils: dict[str, Any]  # the other family's, at the demo school


async def _reserve(family: Any, school: Any, learner: str, number: str) -> dict[str, Any]:
    """A reservation the family asks for and the school approves."""
    body = {"learner_id": learner, "institution_number": number}
    reservation = await family.ok("POST", "reservations", "", json=body)
    assert reservation["state"] == "requested", reservation
    path = f"/{reservation['id']}/approve"
    approved = await school.ok("POST", "reservations", path, json={})
    assert approved["state"] == "approved", approved
    return dict(approved)


async def _contract_of(api: Any, reservation_id: str, timeout_s: float = 60) -> dict[str, Any]:
    """The contract drafted for a reservation, once it is there and open for signing."""
    deadline = time.monotonic() + timeout_s
    while True:
        items = (await api.ok("GET", "contracts", ""))["items"]
        found = [c for c in items if c["reservation_id"] == reservation_id]
        if found and found[0]["state"] == "awaiting_borrower":
            return dict(found[0])
        assert time.monotonic() < deadline, f"no contract for {reservation_id}: {found}"
        await asyncio.sleep(0.5)


@pytest.fixture(scope="module")
async def agreements(system: System) -> Agreements:
    """Three agreements to sign: two of the demo guardian's children, one of the other family;
    each reserved by the family and approved by the school (the other school has no demo
    administrator: the municipality's approves there)."""
    await require_approval(system)
    guardian = await api_as(system, "guardian")
    other = await api_as(system, "other_guardian")
    school = await api_as(system, "school_admin")
    municipality = await api_as(system, "municipality_admin")
    me = await guardian.ok("GET", "gateway", "/me")
    kids = {c["given_name"]: c["id"] for c in me["children"]}
    (emils,) = (await other.ok("GET", "gateway", "/me"))["children"]
    made = [
        (guardian, await _reserve(guardian, school, kids["Marta"], DEMO_SCHOOL)),
        (guardian, await _reserve(guardian, municipality, kids["Jānis"], OTHER_SCHOOL)),
        (other, await _reserve(other, school, emils["id"], DEMO_SCHOOL)),
    ]
    contracts = [await _contract_of(api, r["id"]) for api, r in made]
    return Agreements(*contracts)


@contextlib.asynccontextmanager
async def phone(browser: Browser, *, javascript: bool = True) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile 320 px wide (with or without JavaScript)."""
    made = await browser.new_context(viewport=PHONE, java_script_enabled=javascript)
    try:
        yield made
    finally:
        await made.close()


async def check_page(page: Page) -> None:
    """Every page we visit: no WCAG 2.1 A/AA violation, nothing wider than the phone (and, with
    PORTAL_SCREENSHOTS=<folder>, a picture at 320 and 1280 px to look at)."""
    await assert_accessible(page)
    await assert_no_sideways_scroll(page)
    if folder := os.environ.get("PORTAL_SCREENSHOTS"):
        name = re.sub(r"[^a-z0-9]+", "-", page.url.split("/", 3)[-1].lower()).strip("-")
        for width in (320, 1280):
            await page.set_viewport_size({"width": width, "height": 800})
            path = Path(folder) / f"{next(SHOTS):02d}-{name or 'start'}-{width}.png"
            await page.screenshot(path=path, full_page=True)
        await page.set_viewport_size(PHONE)


async def log_in_weakly(page: Page, system: System, person: str, provider: str) -> None:
    """Log in through E-klase or Mykoob (a login too weak to sign) and land on home."""
    await page.goto(f"{system.portal}/")
    await page.get_by_role("button", name=f"Pieteikties ar {provider}").click()
    await page.get_by_role("radio", name=re.compile(rf"\({re.escape(person)}\)$")).check()
    await page.get_by_role("button", name="Approve").click()
    await page.wait_for_url(f"{system.portal}/home")


async def sign_with_step_up(
    page: Page, system: System, contract: dict[str, Any], person: str, child: str
) -> None:
    """From the list: open the agreement, consent, sign → Latvija.lv → back, consent, sign."""
    url = f"{system.portal}/families/contracts/{contract['id']}"
    await page.goto(f"{system.portal}/families/contracts")
    await check_page(page)
    # Each agreement is a card named by the child; its link says what to do.
    await page.get_by_role("link", name=re.compile(rf"^Izlasīt un parakstīt.*{child}")).click()
    assert page.url == url
    await page.get_by_role("heading", name="Izlasiet un parakstiet patapinājuma līgumu").wait_for()
    await page.get_by_text(contract["number"]).first.wait_for()
    await see_the_clauses(page, system, contract, person)
    await check_page(page)

    await sign_without_consent(page)
    await check_page(page)
    await page.get_by_role("checkbox", name=re.compile("piekrītu tā noteikumiem")).check()
    await page.get_by_role("button", name=SIGN).click()
    await page.get_by_role(
        "heading", name="Lai parakstītu, piesakieties caur Latvija.lv"
    ).wait_for()
    await check_page(page)
    await page.get_by_role("button", name="Turpināt Latvija.lv").click()
    await latvija_approves(page, person, then=url)

    # Straight back at the signing step: now strong enough.
    await page.get_by_role("checkbox", name=re.compile("piekrītu tā noteikumiem")).check()
    await page.get_by_role("button", name=SIGN).click()
    await page.wait_for_url(f"{url}/signed")
    await page.get_by_role("heading", name="Līgums parakstīts").wait_for()
    await page.get_by_text("Tagad līgums gaida skolas parakstu").wait_for()
    await check_page(page)


async def see_the_clauses(
    page: Page, system: System, contract: dict[str, Any], person: str
) -> None:
    """The agreement's text is in the page: each clause under its heading, worded as the
    contracts service gives the version to sign (in Latvian, the page's language)."""
    api = await api_as(system, person)
    documents = await api.ok("GET", "contracts", f"/{contract['id']}/documents")
    path = f"/{contract['id']}/documents/{documents[-1]['number']}/text"
    (text,) = [t for t in (await api.ok("GET", "contracts", path))["texts"] if t["lang"] == "lv"]
    assert text["sections"][2]["heading"] == "Patapinājuma ņēmēja pienākumi"
    for section in text["sections"]:
        heading = f"{section['number']}. {section['heading']}"
        await page.get_by_role("heading", name=heading, exact=True).wait_for()
    await page.get_by_text(text["sections"][0]["paragraphs"][0], exact=True).wait_for()


async def sign_without_consent(page: Page) -> None:
    """Sign without ticking the box: the same page again, the error summary first and the
    message at the box."""
    await page.get_by_role("button", name=SIGN).click()
    summary = page.get_by_role("alert")
    await summary.get_by_text("Radās problēma").wait_for()
    message = "Atzīmējiet rūtiņu, lai apstiprinātu, ka izlasījāt līgumu un tam piekrītat"
    await summary.get_by_role("link", name=message).wait_for()
    assert await page.get_by_text(message).count() == 2  # the summary and the field
    assert (await page.title()).startswith("Kļūda:")


class TestSigningWithAStepUp:
    async def test_an_eklase_login_signs_after_latvija_and_downloads_the_sealed_pdf(
        self, system: System, browser: Browser, agreements: Agreements
    ) -> None:
        contract = agreements.marta
        async with phone(browser) as context:
            page = await context.new_page()
            await log_in_weakly(page, system, "guardian", "E-klase")
            await sign_with_step_up(page, system, contract, "guardian", "Marta Bērziņa")

            guardian = await api_as(system, "guardian")
            signed = await guardian.ok("GET", "contracts", f"/{contract['id']}")
            assert signed["state"] == "awaiting_lender"
            (signature,) = signed["signatures"]
            assert signature["party"] == "borrower"
            assert (signature["idp"], signature["amr"]) == ("latvija", ["eparaksts"])

            page_url = f"{system.portal}/families/contracts/{contract['id']}"
            await page.get_by_role("link", name="Atvērt līgumu").click()
            await page.get_by_text("Gaida skolas parakstu").first.wait_for()
            await check_page(page)

            # The school countersigns at hand-over (through its API), and the PDF is sealed.
            school = await api_as(system, "school_admin")
            docs = await school.ok("GET", "contracts", f"/{contract['id']}/documents")
            body = {"document_sha256": docs[-1]["sha256"], "consent_version": "2026.1"}
            await school.ok("POST", "contracts", f"/{contract['id']}/countersign", json=body)

            await page.goto(page_url)
            await page.get_by_text("Spēkā", exact=True).wait_for()
            await check_page(page)
            link = page.get_by_role("link", name="Lejupielādēt parakstīto līgumu (PDF)")
            async with page.expect_download() as download_info:
                await link.click()
            download = await download_info.value
            assert download.suggested_filename == f"{contract['number']}.pdf"
            path = await download.path()
            assert path.read_bytes().startswith(b"%PDF")

            answer = await page.request.get(f"{page_url}/agreement.pdf")
            assert answer.status == 200
            assert answer.headers["content-type"] == "application/pdf"
            assert answer.headers["content-disposition"].startswith("attachment")
            sealed = await guardian.call("GET", "contracts", f"/{contract['id']}/pdf")
            assert await answer.body() == sealed.content  # the sealed final, as stored

    async def test_without_javascript_a_mykoob_login_signs_and_a_missing_consent_is_explained(
        self, system: System, browser: Browser, agreements: Agreements
    ) -> None:
        contract = agreements.janis
        url = f"{system.portal}/families/contracts/{contract['id']}"
        async with phone(browser, javascript=False) as context:
            page = await context.new_page()
            await log_in_weakly(page, system, "guardian", "Mykoob")
            await page.goto(url)
            await page.get_by_role(
                "heading", name="Izlasiet un parakstiet patapinājuma līgumu"
            ).wait_for()

            await sign_without_consent(page)
            await page.get_by_role("checkbox", name=re.compile("piekrītu tā noteikumiem")).check()
            await page.get_by_role("button", name=SIGN).click()
            await page.get_by_role(
                "heading", name="Lai parakstītu, piesakieties caur Latvija.lv"
            ).wait_for()
            await page.get_by_role("button", name="Turpināt Latvija.lv").click()
            await latvija_approves(page, "guardian", then=url)
            await page.get_by_role("checkbox", name=re.compile("piekrītu tā noteikumiem")).check()
            await page.get_by_role("button", name=SIGN).click()
            await page.wait_for_url(f"{url}/signed")
            await page.get_by_role("heading", name="Līgums parakstīts").wait_for()
            # axe runs in the page, so it checks these same pages in the JavaScript test.
            assert "js-enabled" not in (await page.get_attribute("body", "class") or "")

        guardian = await api_as(system, "guardian")
        signed = await guardian.ok("GET", "contracts", f"/{contract['id']}")
        assert signed["state"] == "awaiting_lender" and len(signed["signatures"]) == 1


class TestAnotherFamily:
    async def test_the_other_familys_agreement_and_pdf_are_not_found(
        self, system: System, browser: Browser, agreements: Agreements
    ) -> None:
        theirs = f"{system.portal}/families/contracts/{agreements.marta['id']}"
        async with phone(browser) as context:
            page = await context.new_page()
            await log_in_weakly(page, system, "other_guardian", "E-klase")
            for path in ("", "/agreement.pdf", "/signed", "/log-in"):
                answer = await page.goto(theirs + path)
                assert answer is not None and answer.status == 404, path
                await page.get_by_role("heading", name="Lapa nav atrasta").wait_for()
                assert agreements.marta["number"] not in await page.content()
            await check_page(page)

            # Their own list shows only their own agreement.
            await page.goto(f"{system.portal}/families/contracts")
            await page.get_by_text(agreements.emils["number"]).wait_for()
            assert await page.get_by_text(agreements.marta["number"]).count() == 0
            await check_page(page)

    async def test_a_step_up_that_logs_someone_else_in_is_refused(
        self, system: System, browser: Browser, agreements: Agreements
    ) -> None:
        contract = agreements.emils
        url = f"{system.portal}/families/contracts/{contract['id']}"
        async with phone(browser) as context:
            page = await context.new_page()
            await log_in_weakly(page, system, "other_guardian", "E-klase")
            await page.goto(url)
            await page.get_by_role("checkbox", name=re.compile("piekrītu tā noteikumiem")).check()
            await page.get_by_role("button", name=SIGN).click()
            await page.get_by_role("button", name="Turpināt Latvija.lv").click()
            # Somebody else picks up the computer and logs in at Latvija.lv.
            await latvija_approves(page, "guardian", then=re.compile(r"/login/callback\?"))
            await page.get_by_role("heading", name="Pieteicās cita persona").wait_for()
            await check_page(page)
            await page.goto(url)  # nobody is logged in any more
            assert page.url.startswith(f"{system.portal}/?next=")

        other = await api_as(system, "other_guardian")
        untouched = await other.ok("GET", "contracts", f"/{contract['id']}")
        assert untouched["state"] == "awaiting_borrower" and untouched["signatures"] == []
