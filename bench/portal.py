"""Benchmark 10: the portal's pages with 50 concurrent sessions, beside the API calls they make.

The whole dev stack (`deploy/dev/stack.py`, as `make run` starts it, with its demo data) on
fresh embedded PostgreSQL and broker. Both demo families reserve a computer for each child and
the school waits to approve them (the demo municipality's policy set to approval by the school),
so the guardian's home page has tasks and the school's approvals queue has requests.

SESSIONS web sessions of the demo guardian and SESSIONS of the demo school administrator are
logged in through the Latvija.lv stand-in, as a browser would; then every session asks for its
page REQUESTS times, all sessions at once: once a second each (people reading what they see; the
target applies), then back to back (where one portal process saturates). Per request the
portal's `Server-Timing` header says how long the portal took (`app`) and how long of that it
waited for the services' APIs (`api`, overlapping calls counted once): the figure is the page's
server time, the baseline the API calls it made, in the same requests. The home page's weight is
its HTML and every file it loads (CSS, JS, fonts, icons), each compressed with gzip as a server
would send it.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import httpx

from bench.infra import Infra
from bench.report import Row
from bench.search import percentile
from shared_kit.testing.stack import DevStack, StackUrls, form_action, hidden_fields, login_token

SESSIONS = 50
REQUESTS = 10  # per session, after one warm-up request each
# People read a page before the next click: each session asks once a second (50 pages a
# second in all, the whole municipality's morning rush on one portal process); the same
# sessions back to back show where the portal saturates (no target: a stress figure).
PACE_S = 1.0
TARGET_P99_MS = 300.0
TARGET_WEIGHT_KB = 150.0
SCHOOL = "3113900101"  # the demo school of both demo families' children
RIGA = "0010000"
# The gateway limits logins and token requests per address; the bench logs in 100 sessions
# (and refreshes their tokens) from one address.
STACK_ENV = {
    "GATEWAY_LOGIN_RATE_PER_S": "1000",
    "GATEWAY_LOGIN_RATE_BURST": "1000",
    "GATEWAY_TOKEN_RATE_PER_S": "1000",
    "GATEWAY_TOKEN_RATE_BURST": "1000",
}
TIMING = re.compile(r"(\w+);dur=([\d.]+)")
ASSETS = re.compile(r'<(?:link|script|img)\b[^>]*\b(?:href|src)="(/[^"]+)"')


@dataclass
class Timings:
    """Per request: the portal's own time and the API time within it (ms), as it reported."""

    app: list[float] = field(default_factory=list)
    api: list[float] = field(default_factory=list)
    client: list[float] = field(default_factory=list)


async def portal_login(urls: StackUrls, person: str) -> httpx.AsyncClient:
    """A browser-like client logged in to the portal as a demo person through Latvija.lv."""
    # Idle connections are dropped before the server's keep-alive (5 s) ends them under us.
    limits = httpx.Limits(keepalive_expiry=2)
    browser = httpx.AsyncClient(timeout=60, follow_redirects=False, limits=limits)
    answer = await browser.get(f"{urls.portal}/login/latvija", params={"next": "/home"})
    answer = await _follow(browser, answer)
    form = {**hidden_fields(answer.text), "person": person, "decision": "approve",
            "method": "eparaksts", "school": ""}  # fmt: skip
    answer = await browser.post(urljoin(str(answer.url), form_action(answer.text)), data=form)
    if answer.status_code == 200:  # SAML: the auto-submitting form to the gateway's ACS
        answer = await browser.post(form_action(answer.text), data=hidden_fields(answer.text))
    answer = await _follow(browser, answer)
    if not str(answer.url).startswith(f"{urls.portal}/home") or answer.status_code != 200:
        raise RuntimeError(f"{person}'s portal login ended at {answer.url} ({answer.status_code})")
    return browser


async def _follow(browser: httpx.AsyncClient, answer: httpx.Response) -> httpx.Response:
    while answer.status_code in (302, 303):
        answer = await browser.get(urljoin(str(answer.url), answer.headers["location"]))
    return answer


def _api(urls: StackUrls, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)


async def prepare(urls: StackUrls) -> None:
    """Approval by the school; each demo child's reservation waits for it."""
    admin = await asyncio.to_thread(login_token, urls.console, "municipality_admin")
    async with _api(urls, admin) as client:
        policy_url = f"{urls.reservations}/api/v1/reservations/policies/{RIGA}"
        policy = (await client.get(policy_url)).raise_for_status()
        rules = {
            k: v for k, v in policy.json().items() if k not in ("municipality_code", "version")
        }
        headers = {"If-Match": policy.headers["etag"]}
        await client.put(policy_url, json={**rules, "auto_approve": False}, headers=headers)
    for family in ("guardian", "other_guardian"):
        token = await asyncio.to_thread(login_token, urls.console, family)
        async with _api(urls, token) as client:
            for child, school in await _children(urls, client):
                body = {"learner_id": child, "institution_number": school,
                        "criteria": {"category": "chromebook"}}  # fmt: skip
                made = await client.post(f"{urls.reservations}/api/v1/reservations", json=body)
                made.raise_for_status()


async def _children(urls: StackUrls, client: httpx.AsyncClient) -> list[tuple[str, str]]:
    me = (await client.get(f"{urls.gateway}/api/v1/gateway/me")).raise_for_status().json()
    return [(c["id"], c["school"]["registration_number"]) for c in me["children"]]


async def measure(sessions: list[httpx.AsyncClient], url: str, pace_s: float = 0.0) -> Timings:
    """Every session asks for the page REQUESTS times, all at once: each as soon as its last
    answer came (`pace_s` 0: the portal saturated), or once every `pace_s` seconds (a person
    clicking), the sessions' first requests spread over one pace; what each request took."""

    async def one(browser: httpx.AsyncClient, into: Timings) -> None:
        started = time.perf_counter()
        answer = await browser.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"{url} answered {answer.status_code}")
        spans = dict(TIMING.findall(answer.headers.get("server-timing", "")))
        into.client.append(elapsed)
        into.app.append(float(spans["app"]))
        into.api.append(float(spans.get("api", 0.0)))

    async def session(browser: httpx.AsyncClient, into: Timings, offset_s: float) -> None:
        await asyncio.sleep(offset_s)
        for _ in range(REQUESTS):
            started = time.perf_counter()
            await one(browser, into)
            await asyncio.sleep(max(0.0, pace_s - (time.perf_counter() - started)))

    # A warm-up request per session first (pools, caches, a token refresh), not counted.
    await asyncio.gather(*(one(s, Timings()) for s in sessions))
    timings = Timings()
    spread = pace_s / len(sessions)
    await asyncio.gather(*(session(s, timings, i * spread) for i, s in enumerate(sessions)))
    return timings


async def page_weight(browser: httpx.AsyncClient, url: str) -> tuple[float, int]:
    """The page and every file it loads, gzip-compressed (KB), and how many files."""
    page = await browser.get(url)
    assets = sorted(set(ASSETS.findall(page.text)))
    total = len(gzip.compress(page.content, 6))
    for path in assets:
        body = (await browser.get(urljoin(url, path))).raise_for_status().content
        total += len(gzip.compress(body, 6))
    total += await _css_assets(browser, url, page.text)
    return total / 1024, len(assets) + 1


async def _css_assets(browser: httpx.AsyncClient, url: str, html: str) -> int:
    """Fonts and images the stylesheets load (`url(...)`), compressed."""
    total = 0
    for sheet in re.findall(r'<link\b[^>]*rel="stylesheet"[^>]*href="([^"]+)"', html):
        css_url = urljoin(url, sheet)
        css = (await browser.get(css_url)).text
        for ref in sorted(set(re.findall(r"url\(([^)]+)\)", css))):
            ref = ref.strip("'\"")
            if ref.startswith("data:") or not ref.endswith((".woff", ".woff2", ".ttf")):
                continue  # only fonts load with every page; icons load on demand
            total += len(gzip.compress((await browser.get(urljoin(css_url, ref))).content, 6))
    return total


def rows(name: str, timings: Timings, *, target: bool = True) -> list[Row]:
    """p50 and p99 of the page's server time beside its API time, and the client's view."""
    out = []
    for p in (50, 99):
        app, api = percentile(timings.app, p), percentile(timings.api, p)
        goal = f"p99 < {TARGET_P99_MS:.0f} ms" if p == 99 and target else ""
        ok = app < TARGET_P99_MS if goal else None
        out.append(Row(f"portal {name}: server time p{p}", app, "ms", goal, ok, api,
                       "its API calls, same requests"))  # fmt: skip
    client = percentile(timings.client, 99)
    out.append(Row(f"portal {name}: client-side p99", client, "ms"))
    return out


async def logins(urls: StackUrls, person: str) -> list[httpx.AsyncClient]:
    """SESSIONS web sessions of one demo person, ten logins at a time."""
    sessions: list[httpx.AsyncClient] = []
    for start in range(0, SESSIONS, 10):
        batch = [portal_login(urls, person) for _ in range(min(10, SESSIONS - start))]
        sessions += await asyncio.gather(*batch)
    return sessions


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Start the stack, log the sessions in, measure the two pages and the home page's weight."""
    del infra  # the stack brings its own PostgreSQL and broker, as `make run` does
    with tempfile.TemporaryDirectory(prefix="bench-portal-") as data:
        stack = DevStack(Path(data), env=STACK_ENV, isolated=True)
        try:
            urls = await asyncio.to_thread(stack.wait_ready)
            return await _run(urls)
        finally:
            await asyncio.to_thread(stack.stop)


async def _run(urls: StackUrls) -> tuple[list[Row], list[str]]:
    await prepare(urls)
    guardians = await logins(urls, "guardian")
    admins = await logins(urls, "school_admin")
    try:
        pages = {"guardian home": (guardians, "/home"), "approvals queue": (admins, APPROVALS)}
        out = []
        for name, (sessions, path) in pages.items():
            paced = await measure(sessions, f"{urls.portal}{path}", PACE_S)
            out += rows(f"{name}, {len(sessions)} sessions clicking every {PACE_S:.0f} s", paced)
        for name, (sessions, path) in pages.items():
            saturated = await measure(sessions, f"{urls.portal}{path}")
            out += rows(f"{name}, {len(sessions)} sessions back to back", saturated, target=False)
        weight, files = await page_weight(guardians[0], f"{urls.portal}/home")
    finally:
        await _close(guardians + admins)
    out.append(Row("portal home page weight (gzip)", weight, "KB",
                   f"< {TARGET_WEIGHT_KB:.0f} KB", weight < TARGET_WEIGHT_KB))  # fmt: skip
    notes = [
        f"portal: {SESSIONS} guardian and {SESSIONS} school administrator sessions (real "
        f"Latvija.lv stand-in logins), {REQUESTS} requests each after a warm-up, all sessions at "
        f"once: paced (one request a second per session, the target's load) and back to back "
        "(saturation, informational); server and API times from the portal's Server-Timing "
        "header; the whole stack (PostgreSQL, broker, every service, one process each) and the "
        "bench's own client share the 2 cores",
        f"portal home page weight: the HTML and {files - 1} files it loads, each gzip level 6",
    ]
    return out, notes


async def _close(clients: list[httpx.AsyncClient]) -> None:
    await asyncio.gather(*(client.aclose() for client in clients))


# The school's approvals queue (the schools area of the portal).
APPROVALS = f"/schools/{SCHOOL}/approvals"
