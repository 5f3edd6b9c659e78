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
import contextlib
import json
import os
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from playwright.async_api import async_playwright

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
STACK = REPO / "deploy" / "dev" / "stack.py"
READY_MARKER = "/token?role="
ROW = re.compile(r"^(\S+)\s+(http://127\.0\.0\.1:\d+)\s+(http://127\.0\.0\.1:\d+/docs)$")
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30
CONSOLE_OFFSET = 9  # the console's port above the port base (the gateway's)
PORT_SPAN = 100  # the stand-ins sit 90-93 above the port base
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
RIGA = "0010000"


class Stack:
    """A running `stack.py` whose output is collected line by line in the background."""

    def __init__(self, port_base: int, data_dir: Path) -> None:
        env = {**os.environ, "STACK_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
        self.data_dir = data_dir
        self.port_base = port_base
        self.process = subprocess.Popen(
            [sys.executable, str(STACK), "--port-base", str(port_base)],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    @property
    def output(self) -> str:
        """Everything printed so far."""
        return "\n".join(self.lines)

    def wait_for(self, marker: str, timeout_s: float) -> None:
        """Collect output until a line contains `marker`; fail on exit or timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"the stack exited ({self.process.wait()}):\n{self.output}")
            self.lines.append(line)
            if marker in line:
                return
        pytest.fail(f"no {marker!r} within {timeout_s} s:\n{self.output}")

    def drain(self) -> None:
        """Collect the rest of the output after the process ended."""
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)

    def services(self) -> dict[str, str]:
        """Service name to base URL, from the printed table."""
        return {m[1]: m[2] for line in self.lines if (m := ROW.match(line.strip()))}

    def postgres_url(self, database: str) -> str:
        """The URL of a database on the stack's PostgreSQL (as printed at start)."""
        printed = re.search(r"PostgreSQL: (\S+)", self.output)
        assert printed is not None, self.output
        scheme, rest = printed[1].split("://", 1)
        user_host, _, query = rest.partition("?")
        base = user_host.rsplit("/", 1)[0]
        return f"{scheme}://{base}/{database}" + (f"?{query}" if query else "")

    @property
    def console(self) -> str:
        """The dev console's base URL."""
        return f"http://127.0.0.1:{self.port_base + CONSOLE_OFFSET}"

    def token(self, role: str, **claims: str) -> str:
        """A token minted by the console with the gateway's key."""
        url = f"{self.console}/token"
        response = httpx.get(url, params={"role": role, **claims}, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def interrupt(self) -> int:
        """Ctrl-C; returns the exit code."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(STOP_TIMEOUT_S)
        self.drain()
        return code


def port_is_free(port: int) -> bool:
    """Whether nothing listens on the loopback port."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_base(span: int = PORT_SPAN) -> int:
    """A port where it and the next `span - 1` ports are free, below the ephemeral range (so
    no outgoing connection of this machine takes one of them while the stack starts)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(200):
        base = random.randrange(10_000, max(10_001, low - span))
        if all(port_is_free(p) for p in range(base, base + span)):
            return base
    raise RuntimeError("no free port range")


def descendants(pid: int) -> list[int]:
    """Pids of every process below `pid` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def postmaster_pid(data_dir: Path) -> int | None:
    """The embedded PostgreSQL's pid, when the stack started one."""
    pidfile = data_dir / "postgres" / "postmaster.pid"
    return int(pidfile.read_text().split()[0]) if pidfile.exists() else None


@contextlib.contextmanager
def running_stack(port_base: int, data_dir: Path) -> Iterator[Stack]:
    """A started stack; killed with everything below it if the test fails midway."""
    stack = Stack(port_base, data_dir)
    try:
        stack.wait_for(READY_MARKER, START_TIMEOUT_S)
        yield stack
    finally:
        if stack.process.poll() is None:
            pids = descendants(stack.process.pid)
            stack.process.kill()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            stack.process.wait()


def stop_and_check_nothing_remains(stack: Stack) -> None:
    """Ctrl-C the stack: exit 0 in time, no process it started left behind."""
    started = [*descendants(stack.process.pid), postmaster_pid(stack.data_dir)]
    code = stack.interrupt()
    assert code == 0, stack.output

    def nothing_left() -> bool:
        return not [pid for pid in started if pid is not None and alive(pid)]

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


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of an HTML form."""
    pairs = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return {unescape(k): unescape(v) for k, v in pairs}


def form_action(page: str) -> str:
    """The action of the page's (first) form."""
    found = re.search(r'<form method="post" action="([^"]*)"', page)
    assert found is not None, page
    return unescape(found[1])


def http_login(console: str, provider: str, person: str, method: str = "eparaksts") -> str:
    """A login as a browser would do it, without a browser: the console's access token."""
    with httpx.Client(timeout=20, follow_redirects=False) as browser:
        choice = browser.get(browser.get(f"{console}/login").headers["location"])
        link = re.search(rf'href="(/login/{provider}\?[^"]+)"', choice.text)
        assert link is not None, choice.text
        gateway = str(choice.url).split("/login")[0]
        idp = browser.get(gateway + unescape(link[1])).headers["location"]
        page = browser.get(idp)
        form = {**hidden_fields(page.text), "person": person, "decision": "approve",
                "method": method, "school": ""}  # fmt: skip
        answer = browser.post(urljoin(idp, form_action(page.text)), data=form)
        if answer.status_code == 200:  # SAML: an auto-submitting form to the gateway's ACS
            answer = browser.post(form_action(answer.text), data=hidden_fields(answer.text))
        while answer.status_code in (302, 303):
            answer = browser.get(urljoin(str(answer.url), answer.headers["location"]))
        access = re.search(r'<textarea id="access"[^>]*>([^<]+)</textarea>', answer.text)
        assert access is not None, answer.text
        return access[1]


class Api:
    """A caller of the stack's public APIs with one token."""

    def __init__(self, services: dict[str, str], token: str) -> None:
        self.services, self.headers = services, {"Authorization": f"Bearer {token}"}

    def call(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to a service's API."""
        url = f"{self.services[service]}/api/v1/{service}{path}"
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return httpx.request(method, url, headers=headers, timeout=30, **kwargs)

    def ok(self, method: str, service: str, path: str, **kwargs: Any) -> Any:
        """The JSON of a 2xx answer (the test fails on anything else)."""
        response = self.call(method, service, path, **kwargs)
        assert response.is_success, f"{method} {service}{path}: {response.text}"
        return response.json() if response.content else None


def until(check: Callable[[], Any], what: str, timeout_s: float = 40) -> Any:
    """Poll until `check()` is truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def journey(stack: Stack, services: dict[str, str]) -> None:
    """Guardian reserves, school approves, both sign, the device goes on loan and comes back."""
    guardian = Api(services, http_login(stack.console, "latvija", "guardian"))
    school = Api(services, http_login(stack.console, "mykoob", "school_admin"))
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
    technician = Api(services, http_login(stack.console, "latvija", "technician"))
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


def statistics_show_the_journey(stack: Stack, services: dict[str, str], riga: Api) -> None:
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


def client_token(stack: Stack, scopes: list[str], municipality: str | None) -> str:
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
    base = free_port_base()
    with running_stack(base, data_dir) as stack:
        services = stack.services()
        assert "inventory" in services, stack.output
        for name, url in services.items():
            ready = httpx.get(f"{url}/readyz", timeout=10)
            assert ready.status_code == 200, f"{name}: {ready.text}"
            assert httpx.get(f"{url}/docs", timeout=10).status_code == 200
        assert {"gateway", "inventory"} <= services.keys(), stack.output
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
    with running_stack(base, data_dir) as stack:
        assert "devices 0 created, 200 unchanged" in stack.output
        services = stack.services()
        import_devices(services, stack.token("platform_admin"), 3)
        platform = Api(services, stack.token("platform_admin"))
        until(
            lambda: (
                platform.ok("GET", "statistics", "/national")["figures"]["devices"]["total"] == 203
            ),
            "statistics to count the 3 devices imported after the restart",
        )
        stop_and_check_nothing_remains(stack)


def feed_today(stack: Stack, services: dict[str, str]) -> dict[str, Any]:
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
