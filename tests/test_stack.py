"""Smoke test of the local stack: `deploy/dev/stack.py` starts, seeds, serves and stops cleanly.

On the running stack, one login is driven end to end in a real headless browser (Debian's
`chromium`, driven by Playwright): the dev console → the gateway's provider choice → the
Latvija.lv stand-in (a SAML IdP) → the gateway's ACS → the console, whose token the inventory
accepts.

It uses `DATABASE_URL` / `KAFKA_BOOTSTRAP_SERVERS` when the environment sets them (the stack
then creates its databases and topics there), else embedded PostgreSQL and Tansu.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import smtplib
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright

from shared_kit.testing.stack import Api, DevStack, PortRange, alive, login_token, running_stack

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
RIGA = "0010000"


def stop_and_check_nothing_remains(stack: DevStack) -> None:
    """Ctrl-C the stack: exit 0 in time, no process it started left behind."""
    started = stack.started_pids()
    code = stack.interrupt()
    assert code == 0, stack.output

    def nothing_left() -> bool:
        return not [pid for pid in started if alive(pid)]

    # The postmaster's children exit just after it answers pg_ctl: wait for them to go.
    until(nothing_left, f"the processes {started} to exit\n{stack.output}", timeout_s=10)


def list_devices(services: dict[str, str], token: str) -> httpx.Response:
    """GET one device from the inventory with a bearer token."""
    response = httpx.get(
        f"{services['inventory']}/api/v1/inventory/devices",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code != 200 or len(response.json()["items"]) == 1, response.text
    return response


async def browser_login(console: str) -> tuple[dict[str, Any], str]:
    """Log in as the demo municipality admin through Latvija.lv and log out again (single
    logout); the claims and the access token of the ended session."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = await browser.new_page()
            await page.goto(f"{console}/")
            await page.click("#login")  # → the gateway's provider choice (Latvian)
            # The choices are GOV.UK start buttons (links with role=button). → the SAML IdP
            await page.get_by_role("button", name="Pieteikties ar Latvija.lv").click()
            await page.check("input[name=person][value=municipality_admin]")
            await page.select_option("select[name=method]", "eparaksts")
            await page.get_by_role("button", name="Approve").click()  # → ACS → console
            await page.wait_for_selector("#claims", timeout=20_000)
            claims = json.loads(await page.inner_text("#claims"))
            token = await page.input_value("#access")
            refresh = await page.input_value("#refresh")
            # Log out: the gateway ends the session and sends a SAML LogoutRequest to the IdP,
            # whose signed LogoutResponse brings the browser back to the console.
            await page.get_by_role("button", name="Log out").click()
            await page.wait_for_selector("#login", timeout=20_000)
        finally:
            await browser.close()
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(
            f"{claims['iss']}/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh},
        )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant", answer.text
    return claims, token


# The journey through public APIs only -------------------------------------------------------

DEMO_SCHOOL = "3113900101"  # the VIIS stand-in's school of the demo guardian's children


def until(check: Callable[[], Any], what: str, timeout_s: float = 40) -> Any:
    """Poll until `check()` is truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def journey(stack: DevStack, services: dict[str, str]) -> None:
    """Guardian reserves, school approves, both sign, the device goes on loan and comes back."""
    guardian = Api(services, login_token(stack.console, "guardian", "latvija"))
    school = Api(services, login_token(stack.console, "school_admin", "mykoob"))
    riga = Api(services, stack.token("municipality_admin", municipality=RIGA))
    child = claims_of(guardian.headers)["learners"][0]

    policy = riga.call("GET", "reservations", f"/policies/{RIGA}")
    riga.ok("PUT", "reservations", f"/policies/{RIGA}", json={"auto_approve": False},
            headers={"If-Match": policy.headers["etag"]})  # fmt: skip
    body = {"learner_id": child, "institution_number": DEMO_SCHOOL,
            "criteria": {"category": "chromebook"}}  # fmt: skip
    reservation = guardian.ok("POST", "reservations", "", json=body)
    assert reservation["state"] == "requested"
    approved = school.ok("POST", "reservations", f"/{reservation['id']}/approve", json={})
    assert approved["state"] == "approved"
    device = approved["device_id"]

    def drafted() -> Any:
        found = guardian.ok("GET", "contracts", "", params={"limit": 50})["items"]
        return next((c for c in found if c["reservation_id"] == reservation["id"]), None)

    contract = until(drafted, "the contract to be drafted")
    for signer, action in ((guardian, "sign"), (school, "countersign")):
        sha = signer.ok("GET", "contracts", f"/{contract['id']}/documents")[-1]["sha256"]
        signer.ok("POST", "contracts", f"/{contract['id']}/{action}",
                  json={"document_sha256": sha, "consent_version": "2026.1"})  # fmt: skip

    def status() -> str:
        return str(school.ok("GET", "inventory", f"/devices/{device}")["status"])

    until(lambda: status() == "on_loan", "the device to be on loan")
    until(lambda: guardian.ok("GET", "reservations", f"/{reservation['id']}")["state"]
          == "fulfilled", "the reservation to be fulfilled")  # fmt: skip

    # A broken screen: the guardian reports it, a technician takes the device in and repairs it.
    technician = Api(services, login_token(stack.console, "technician", "latvija"))
    report = {"device_id": device, "category": "screen",
              "description": "Ekrāns mirgo un paliek melns"}  # fmt: skip
    ticket = until(lambda: _created(guardian.call("POST", "tickets", "", json=report)),
                   "the tickets service to know the loan")  # fmt: skip
    assert status() == "on_loan"  # reporting a problem leaves the device with the child
    technician.ok("POST", "tickets", f"/{ticket['id']}/transitions", json={"to": "in_repair"})
    until(lambda: status() == "in_repair", "the device to be in repair")
    technician.ok("POST", "tickets", f"/{ticket['id']}/transitions",
                  json={"to": "resolved", "resolution": "Ekrāns nomainīts"})  # fmt: skip
    until(lambda: status() == "on_loan", "the device to be back on loan")

    school.ok("POST", "contracts", f"/{contract['id']}/return", data={"condition": "good"})
    until(lambda: status() in ("available", "reserved"), "the device to be back")
    statistics_show_the_journey(stack, services, riga)


def _created(response: httpx.Response) -> Any:
    """The body of a 201, else None (to poll until a read model catches up)."""
    return response.json() if response.status_code == 201 else None


def statistics_show_the_journey(stack: DevStack, services: dict[str, str], riga: Api) -> None:
    """The school's view counts the loan, the reservation and the ticket; the VIIS feed and a
    municipal platform (client credentials) see them too."""

    def figures() -> Any:
        view = riga.ok("GET", "statistics", f"/institutions/{DEMO_SCHOOL}")["figures"]
        done = (view["loans"]["by_state"].get("returned", 0) >= 1
                and view["reservations"]["by_state"].get("fulfilled", 0) >= 1
                and view["tickets"]["resolved"] >= 1)  # fmt: skip
        return view if done else None

    view = until(figures, "statistics to count the journey")
    assert view["devices"]["total"] >= 1
    platform = Api(services, stack.token("platform_admin"))
    platform.ok("POST", "statistics", "/ops/snapshots")
    viis = Api(services, client_token(stack, ["statistics:feed"], None))
    feed = viis.ok("GET", "statistics", "/feeds/viis", params={"limit": 100})
    mine = [i["record"] for i in feed["items"]
            if i["record"]["institution_registration_number"] == DEMO_SCHOOL]  # fmt: skip
    # Today's provisional snapshot, refreshed by the call above: it counts the journey.
    assert mine and mine[-1]["provisional"], feed
    assert mine[-1]["figures"]["loans"]["by_state"].get("returned", 0) >= 1, feed
    municipal = Api(services, client_token(stack, ["inventory:read", "statistics:read"], RIGA))
    assert municipal.ok("GET", "inventory", "/devices", params={"limit": 1})["items"]
    assert municipal.ok("GET", "statistics", f"/municipalities/{RIGA}")["figures"]["devices"]


def client_token(stack: DevStack, scopes: list[str], municipality: str | None) -> str:
    """A machine client made with the operator CLI on the stack's gateway database, and its
    client-credentials token from the gateway."""
    database = stack.postgres_url("gateway")
    argv = ["client", "create", "--name", "journey", *(x for s in scopes for x in ("--scope", s))]
    if municipality:
        argv += ["--municipality", municipality]
    made = subprocess.run(
        [sys.executable, "-m", "gateway_service.cli", "admin", *argv],
        env={**os.environ, "GATEWAY_DATABASE_URL": database},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    client = json.loads(made.stdout)
    answer = httpx.post(
        f"http://127.0.0.1:{stack.port_base}/oauth/token",
        data={"grant_type": "client_credentials", "scope": " ".join(scopes)},
        auth=(client["client_id"], client["client_secret"]),
        timeout=15,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def claims_of(headers: dict[str, str]) -> dict[str, Any]:
    """The claims of the bearer token in the headers (display only)."""
    payload = headers["Authorization"].split()[1].split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_stack_starts_seeds_serves_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ports = PortRange()  # both runs on the same ports
    try:
        first_and_second_run(data_dir, ports)
    finally:
        ports.release()


def first_and_second_run(data_dir: Path, ports: PortRange) -> None:
    """A fresh stack, then a restart of it on the same data."""
    with running_stack(data_dir, ports) as stack:
        services = stack.urls.apis()
        assert "inventory" in services, stack.output
        for name, url in services.items():
            ready = httpx.get(f"{url}/readyz", timeout=10)
            assert ready.status_code == 200, f"{name}: {ready.text}"
            assert httpx.get(f"{url}/docs", timeout=10).status_code == 200
        expected = {"gateway", "inventory", "notifications", "planning"}
        assert expected <= services.keys(), stack.output
        mail_and_sms_pages_answer(stack)
        assert list_devices(services, stack.token("platform_admin")).status_code == 200
        # Seeded before the stack says it is ready: today's feed already counts the devices.
        assert feed_today(stack, services)["figures"]["devices"]["total"] == 80
        assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: `make install` installs chromium"
        claims, token = asyncio.run(browser_login(stack.console))
        assert claims["idp"] == "latvija" and claims["amr"] == ["eparaksts"], claims
        assert "municipality_admin" in claims["roles"] and claims["municipalities"] == [RIGA]
        assert list_devices(services, token).status_code == 200
        journey(stack, services)
        stop_and_check_nothing_remains(stack)

    # A second run on the same data seeds nothing twice; its broker starts empty (offsets from
    # 0 again), and statistics still counts the devices imported now.
    with running_stack(data_dir, ports) as stack:
        assert "devices 0 created, 200 unchanged" in stack.output
        mail_and_sms_pages_answer(stack)  # the kept certificate still works
        services = stack.urls.apis()
        import_devices(services, stack.token("platform_admin"), 3)
        platform = Api(services, stack.token("platform_admin"))
        until(
            lambda: (
                platform.ok("GET", "statistics", "/national")["figures"]["devices"]["total"] == 203
            ),
            "statistics to count the 3 devices imported after the restart",
        )
        stop_and_check_nothing_remains(stack)


def mail_and_sms_pages_answer(stack: DevStack) -> None:
    """The mail sink takes mail over STARTTLS with the certificate the notifications service is
    told to trust, and shows it; the SMS stand-in's page answers."""
    urls = stack.urls
    health = httpx.get(f"{urls.mail}/healthz", timeout=10).json()
    assert health["ca_file"] == str(stack.data_dir / "mail" / "cert.pem"), health
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "stack@datori.localhost", "a@example.lv", "Sveiki"
    mail.set_content("Pārbaude.")
    context = ssl.create_default_context(cafile=health["ca_file"])
    with smtplib.SMTP("127.0.0.1", health["smtp_port"], timeout=10) as smtp:
        smtp.starttls(context=context)
        smtp.send_message(mail)
    [kept] = httpx.get(f"{urls.mail}/api/messages", params={"to": "a@example.lv"}).json()
    assert kept["subject"] == "Sveiki" and kept["tls"], kept
    assert "Sveiki" in httpx.get(f"{urls.mail}/", timeout=10).text
    assert httpx.delete(f"{urls.mail}/api/messages", timeout=10).status_code == 204
    assert httpx.get(f"{urls.sms}/", timeout=10).status_code == 200


def feed_today(stack: DevStack, services: dict[str, str]) -> dict[str, Any]:
    """The demo school's latest record in the VIIS feed, which must be today's provisional one."""
    viis = Api(services, client_token(stack, ["statistics:feed"], None))
    feed = viis.ok("GET", "statistics", "/feeds/viis", params={"limit": 1000})
    mine = [i["record"] for i in feed["items"]
            if i["record"]["institution_registration_number"] == DEMO_SCHOOL]  # fmt: skip
    assert mine and mine[-1]["provisional"], feed
    return dict(mine[-1])


def import_devices(services: dict[str, str], token: str, count: int) -> None:
    """Import `count` new devices for the demo school through the inventory's CSV import."""
    rows = ["serial_number,asset_tag,catalogue_item_code,funding_source,"
            "institution_registration_number,status"]  # fmt: skip
    tag = random.randrange(10**6)
    rows += [f"RESTART-{tag}-{i},RIX-R-{tag}-{i},NB-14-WIN,react_eu,{DEMO_SCHOOL},available"
             for i in range(count)]  # fmt: skip
    response = httpx.post(
        f"{services['inventory']}/api/v1/inventory/devices/imports",
        data={"municipality": RIGA, "mode": "valid_rows"},
        files={"file": ("more.csv", "\n".join(rows).encode(), "text/csv")},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200 and response.json()["created_rows"] == count, response.text
