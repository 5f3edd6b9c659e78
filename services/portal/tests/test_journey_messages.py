"""What the whole journey tells the families, on the whole system (`make run`'s stack with its
mail sink): two guardians, one reading Latvian and one who chose English, each verify an e-mail
address with the code the sink received, then each reserves → the school approves → the
agreement is drafted → the guardian signs → the school hands the computer over → the guardian
reports a problem → a technician acknowledges it, comments publicly (and internally), resolves
it. The notifications service is killed (SIGKILL) right after the first guardian signs and the
stack starts it again. Then each address received exactly the expected messages, once each (a
message in flight at the kill may arrive twice with one Message-ID, shown once by a mail client), in
its person's language, with the portal link and nothing personal; the same kinds are in-portal
notices, and the portal's header counts them unread. The school administrator's role reached
the notifications roster through the gateway's `roles_changed`.

The steps go through the services' APIs with each person's own token (the browser journey is
`test_journey.py`); the browser is used where it is the point: the header's count, and one
e-mail as a parent reads it on a phone, in the sink's inbox and as HTML.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser
from sqlalchemy import text

from shared_kit.db import create_engine
from shared_kit.testing.infra import asyncpg_url
from shared_kit.testing.kafka import eventually
from shared_kit.testing.stack import AsyncApi

from .conftest import System, api_as, log_in, require_approval
from .test_browser import assert_no_sideways_scroll
from .test_families_sign import _contract_of, _reserve
from .test_notices import code_sent_to, mail_to

# A delivery claimed by the killed process is taken again soon (the default lease is minutes).
STACK_ENV = {"NOTIFICATIONS_DISPATCH_LEASE_S": "5"}
SCHOOL = "3113900101"  # both children's school; Inese Ozola administers it
PHONE = {"viewport": {"width": 320, "height": 740}}
QUIET_S = 4.0  # no new message for this long: the sink has everything
# What no message may carry: the families' names and personal codes (the VIIS stand-in's).
PERSONAL = ("Marta", "Bērziņ", "Jānis", "Emīls", "Kalēj", "Ilze", "Kristīne",
            "329999-00001", "329999-00002", "010185-10004", "010186-10005")  # fmt: skip
KINDS = ("reservation_approved", "contract_ready_to_sign", "device_ready_to_collect",
         "ticket_acknowledged", "ticket_commented", "ticket_resolved")  # fmt: skip
SUBJECTS = {
    "lv": {
        "verification_code": "Jūsu apstiprinājuma kods",
        "reservation_approved": "Jūsu rezervācija ir apstiprināta",
        "contract_ready_to_sign": "Patapinājuma līgums {contract} ir gatavs parakstīšanai",
        "device_ready_to_collect": "Datoru var saņemt",
        "ticket_acknowledged": "Problēmas pieteikums {ticket} ir pieņemts",
        "ticket_commented": "Jauna atbilde problēmas pieteikumā {ticket}",
        "ticket_resolved": "Problēmas pieteikums {ticket} ir atrisināts",
    },
    "en": {
        "verification_code": "Your confirmation code",
        "reservation_approved": "Your reservation is approved",
        "contract_ready_to_sign": "Loan agreement {contract} is ready to sign",
        "device_ready_to_collect": "The computer is ready to collect",
        "ticket_acknowledged": "Problem report {ticket} has been received",
        "ticket_commented": "New reply on problem report {ticket}",
        "ticket_resolved": "Problem report {ticket} is resolved",
    },
}


@dataclass
class Family:
    """A guardian doing the journey, and what it made."""

    person: str
    language: str
    address: str
    api: AsyncApi
    made: dict[str, Any] = field(default_factory=dict)

    def subjects(self) -> dict[str, str]:
        """The subject each kind must have for this family (numbers filled in)."""
        numbers = {"contract": self.made["contract"]["number"],
                   "ticket": self.made["ticket"]["number"]}  # fmt: skip
        return {k: s.format(**numbers) for k, s in SUBJECTS[self.language].items()}


@dataclass
class Staff:
    """The school administrator and the technician, with their tokens."""

    school: AsyncApi
    technician: AsyncApi


async def with_verified_email(system: System, person: str, language: str, address: str) -> Family:
    """The guardian chooses a language and verifies an e-mail address with the code the sink
    received."""
    api = await api_as(system, person)
    await api.ok("PUT", "notifications", "/me/preferences", json={"language": language})
    answer = await api.call("PUT", "notifications", "/me/contact-points/email",
                            json={"address": address})  # fmt: skip
    assert answer.status_code == 202, answer.text
    code = await code_sent_to(system, address)
    await api.ok("POST", "notifications", "/me/contact-points/email/verify", json={"code": code})
    return Family(person, language, address, api)


async def journey(
    family: Family, staff: Staff, *, after_signing: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Reserve → approve → drafted → sign → hand over → report → acknowledge, comment, resolve."""
    api = family.api
    child = (await api.ok("GET", "gateway", "/me"))["children"][0]
    reservation = await _reserve(api, staff.school, child["id"], SCHOOL)
    contract = await _contract_of(api, reservation["id"])
    await sign(api, contract, "sign")
    if after_signing is not None:
        await after_signing()
    await sign(staff.school, contract, "countersign")  # the school hands the computer over
    await eventually(lambda: in_state(api, "contracts", contract["id"], "active"), timeout_s=60)
    ticket = await report(api, reservation["device_id"])
    await work_on(staff.technician, ticket)
    family.made.update(reservation=reservation, contract=contract, ticket=ticket)


async def sign(api: AsyncApi, contract: dict[str, Any], action: str) -> None:
    """The borrower signs, or the school countersigns, the agreement's latest document."""
    path = f"/{contract['id']}"
    sha = (await api.ok("GET", "contracts", f"{path}/documents"))[-1]["sha256"]
    await api.ok("POST", "contracts", f"{path}/{action}",
                 json={"document_sha256": sha, "consent_version": "2026.1"})  # fmt: skip


async def in_state(api: AsyncApi, service: str, item: str, state: str) -> bool:
    """Whether the service shows the item in the state (events cross services)."""
    return bool((await api.ok("GET", service, f"/{item}"))["state"] == state)


async def report(api: AsyncApi, device: str) -> dict[str, Any]:
    """The guardian reports a broken screen (once the tickets service knows the loan)."""
    body = {"device_id": device, "category": "screen", "description": "Ekrāns ir saplīsis."}

    async def created() -> Any:
        answer = await api.call("POST", "tickets", "", json=body)
        return answer.json() if answer.status_code == 201 else None

    return dict(await eventually(created, timeout_s=60, interval_s=0.5))


async def work_on(technician: AsyncApi, ticket: dict[str, Any]) -> None:
    """The technician acknowledges, comments publicly and internally, works on it, resolves."""
    path = f"/{ticket['id']}"
    for body in (
        {"to": "acknowledged"},
        {"to": "in_progress"},
    ):
        await technician.ok("POST", "tickets", f"{path}/transitions", json=body)
    for visibility, words in (("public", "Lūdzu, atnesiet datoru uz skolu."),
                              ("internal", "Ekrāns jāpasūta.")):  # fmt: skip
        await technician.ok("POST", "tickets", f"{path}/comments",
                            json={"body": words, "visibility": visibility})  # fmt: skip
    await technician.ok("POST", "tickets", f"{path}/transitions",
                        json={"to": "resolved", "resolution": "Ekrāns nomainīts."})  # fmt: skip


async def restart_notifications(system: System) -> None:
    """SIGKILL the notifications process; the stack starts it again; wait until it is ready."""
    pid = system.stack.service_pid("notifications")
    assert pid is not None, system.stack.output
    os.kill(pid, signal.SIGKILL)

    async def ready_again() -> bool:
        now = system.stack.service_pid("notifications")
        if now is None or now == pid:
            return False
        async with httpx.AsyncClient(timeout=5) as client:
            try:
                answer = await client.get(f"{system.urls.notifications}/readyz")
            except httpx.HTTPError:
                return False
        return answer.status_code == 200

    await eventually(ready_again, timeout_s=120, interval_s=0.5)


async def notices_of(family: Family) -> list[dict[str, Any]]:
    """The family's in-portal notices, once every kind of the journey is there."""

    async def all_there() -> list[dict[str, Any]] | None:
        items = (await family.api.ok("GET", "notifications", "/me/notices",
                                     params={"limit": 50}))["items"]  # fmt: skip
        return list(items) if set(KINDS) <= {n["kind"] for n in items} else None

    return await eventually(all_there, timeout_s=120, interval_s=0.5)


async def quiet_inboxes(system: System, addresses: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each address's messages, once the sink has received nothing new for `QUIET_S`."""
    last: dict[str, int] = {}
    since = time.monotonic()
    while True:
        inboxes = {a: await mail_to(system, a) for a in addresses}
        counts = {a: len(m) for a, m in inboxes.items()}
        if counts != last:
            last, since = counts, time.monotonic()
        elif time.monotonic() - since >= QUIET_S:
            return inboxes
        await asyncio.sleep(0.5)


def check_inbox(family: Family, inbox: list[dict[str, Any]], notices: list[dict[str, Any]],
                portal: str) -> None:  # fmt: skip
    """Exactly the expected messages, once each, in the family's language, with the link to
    the notice's page and nothing personal."""
    subjects = family.subjects()
    # Plain SMTP has no idempotency: a message the sink accepted in the instant before the kill
    # marked it sent goes again, with the same Message-ID, which a mail client shows once.
    folded = list({m["message_id"]: m for m in inbox}.values())
    assert len(inbox) - len(folded) <= 1, (family.person, [m["subject"] for m in inbox])
    got = Counter(m["subject"] for m in folded)
    assert got == Counter(subjects.values()), (family.person, got)
    links = {n["kind"]: n["link"] for n in notices}
    by_subject = {m["subject"]: m for m in folded}
    for kind in KINDS:
        mail = by_subject[subjects[kind]]
        url = f"{portal}{links[kind]}"
        assert url in mail["text"] and f'href="{url}"' in mail["html"], (kind, mail["text"])
    for mail in folded:
        leaked = [p for p in PERSONAL if p in mail["text"] or p in mail["html"]]
        assert not leaked, (family.person, mail["subject"], leaked)


def check_notices(family: Family, notices: list[dict[str, Any]]) -> None:
    """The journey's kinds once each, unread, titled as the e-mails are."""
    assert Counter(n["kind"] for n in notices) == Counter(KINDS), notices
    subjects = family.subjects()
    for notice in notices:
        assert notice["title"] == subjects[notice["kind"]] and notice["read_at"] is None, notice


async def header_count(browser: Browser, system: System, person: str) -> int:
    """The unread count in the portal's header, as the person sees it after logging in."""
    context = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    try:
        page = await context.new_page()
        await log_in(page, system, person)
        header = page.get_by_role("link", name=re.compile(r"^(Paziņojumi|Notifications) \(\d+"))
        shown = re.search(r"\((\d+)", await header.inner_text())
        assert shown is not None
        return int(shown[1])
    finally:
        await context.close()


async def roster_roles(system: System, person_id: str) -> list[dict[str, Any]]:
    """A person's staff roles as the notifications service keeps them (its own database)."""
    engine = create_engine(asyncpg_url(system.stack.postgres_url("notifications")), pool_size=1)
    try:
        async with engine.connect() as conn:
            sql = text("SELECT roles FROM staff_member WHERE person_id = :id")
            found = (await conn.execute(sql, {"id": person_id})).scalar_one_or_none()
    finally:
        await engine.dispose()
    return list(found or [])


async def phone_reading(browser: Browser, system: System, shots: Path) -> None:
    """One e-mail as a parent reads it on a phone: the sink's inbox and the message's HTML part
    fit 320 px (screenshots kept for people to look at)."""
    context = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    try:
        page = await context.new_page()
        await page.goto(system.urls.mail)
        await page.screenshot(path=shots / "inbox.png", full_page=True)
        await page.get_by_role("link", name=SUBJECTS["lv"]["device_ready_to_collect"]).click()
        await page.screenshot(path=shots / "message.png", full_page=True)
        await page.get_by_role("link", name="The HTML part").click()
        await page.get_by_role("heading", name=SUBJECTS["lv"]["device_ready_to_collect"]).wait_for()
        await assert_no_sideways_scroll(page)
        await page.screenshot(path=shots / "html.png", full_page=True)
    finally:
        await context.close()


async def test_each_family_hears_each_step_once_in_its_language_by_email_and_in_portal(
    system: System, browser: Browser, tmp_path: Path
) -> None:
    await require_approval(system)
    families = [
        await with_verified_email(system, "guardian", "lv", "ilze.journey@example.lv"),
        await with_verified_email(system, "other_guardian", "en", "kristine.journey@example.lv"),
    ]
    school = await api_as(system, "school_admin")
    staff = Staff(school, await api_as(system, "technician"))

    await asyncio.gather(
        journey(families[0], staff, after_signing=lambda: restart_notifications(system)),
        journey(families[1], staff),
    )

    notices = {f.person: await notices_of(f) for f in families}
    inboxes = await quiet_inboxes(system, [f.address for f in families])
    for family in families:
        check_notices(family, notices[family.person])
        check_inbox(family, inboxes[family.address], notices[family.person], system.portal)
        unread = await family.api.ok("GET", "notifications", "/me/notices/unread-count")
        assert unread == {"unread": len(KINDS)}
        assert await header_count(browser, system, family.person) == len(KINDS)

    # The school administrator logged in (Inese Ozola, a VIIS institution_admin): the gateway
    # told the notifications service, whose roster now has her for the schools' digest.
    roles = await eventually(lambda: roster_roles(system, school.claims["sub"]), timeout_s=30)
    assert {"role": "institution_admin", "institution_number": SCHOOL} in [
        {k: r.get(k) for k in ("role", "institution_number")} for r in roles
    ], roles
    await phone_reading(browser, system, tmp_path)
