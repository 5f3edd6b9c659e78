"""Portal test fixtures: a real gateway (with the VIIS, Latvija.lv and Mykoob stand-ins) in
subprocesses, the portal served over real HTTP in-process, and one headless Chromium.

For whole journeys: `system`, the whole dev stack (`make run`) with its demo data, one per test
module; `log_in(page, system, person)` logs a demo person in through Latvija.lv in the browser
(`latvija_approves` is its part at the stand-in, for a strong login to sign);
`api_as(system, person)` calls the services' APIs as that person, to check outcomes;
`require_approval(system)` makes reservations wait for the school;
`context_without_js(browser)` (or the `no_js_context` fixture) is a profile without JavaScript."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

from portal_service.config import PortalSettings
from portal_service.main import MIGRATIONS, create_app
from shared_kit.migrations import upgrade
from shared_kit.testing.gateway import GATEWAY_MIGRATIONS, Process
from shared_kit.testing.infra import Postgres, free_port
from shared_kit.testing.sharing import declared_shared_stack
from shared_kit.testing.stack import AsyncApi, DevStack, StackUrls, login_token, quiet_env
from shared_kit.testing.stack_template import postgres_template, start_from

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
RIGA = "0010000"  # the demo municipality


@dataclass
class Stack:
    """The gateway and the stand-ins this session's portal logs people in through."""

    gateway: str
    gateway_database_url: str
    latvija: str


@dataclass
class Portal:
    """The running portal: its URL, app and settings."""

    url: str
    app: FastAPI
    settings: PortalSettings


def _create_database(postgres: Postgres, prefix: str) -> tuple[str, str]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"

    async def run() -> None:
        engine = create_async_engine(postgres.admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()

    # In a thread: the session's event loop is already running.
    with contextlib.closing(asyncio.new_event_loop()) as loop:
        loop.run_until_complete(run())
    return name, postgres.url(name)


@pytest.fixture(scope="session")
def portal_port() -> int:
    """The portal's port, known before the gateway starts (its return_to allow-list)."""
    return free_port()


@pytest.fixture(scope="session")
def stack(postgres: Postgres, portal_port: int) -> Iterator[Stack]:
    """VIIS, Mykoob and Latvija.lv stand-ins and a gateway that returns to the portal."""
    _, database_url = _create_database(postgres, "portal_gw")
    upgrade(GATEWAY_MIGRATIONS, database_url)
    started: list[Process] = []
    try:
        viis = Process("viis_standin:app", {})
        started.append(viis)
        mykoob = Process("mykoob_standin:app", {})
        started.append(mykoob)
        gateway_port, latvija_port = free_port(), free_port()
        gateway = f"http://127.0.0.1:{gateway_port}"
        latvija_env = {
            "LATVIJA_STANDIN_URL": f"http://127.0.0.1:{latvija_port}",
            "LATVIJA_STANDIN_SP_METADATA": f"{gateway}/login/latvija/metadata",
        }
        latvija = Process("latvija_standin:app", latvija_env, port=latvija_port)
        started.append(latvija)
        env = {
            "GATEWAY_ENVIRONMENT": "dev",
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_RUN_BACKGROUND_WORKERS": "false",
            "GATEWAY_RETURN_TO_ALLOWED": f"http://127.0.0.1:{portal_port}",
            "GATEWAY_VIIS_URL": viis.url,
            "GATEWAY_MYKOOB_AUTHORIZE_URL": f"{mykoob.url}/oauth/authorize",
            "GATEWAY_MYKOOB_TOKEN_URL": f"{mykoob.url}/oauth/token",
            "GATEWAY_MYKOOB_API_URL": f"{mykoob.url}/api/v1",
            "GATEWAY_LATVIJA_IDP_METADATA_URL": f"{latvija.url}/metadata",
            "GATEWAY_LOG_JSON": "false",
            "GATEWAY_ISSUER": gateway,
            "GATEWAY_JWKS_URL": f"{gateway}/.well-known/jwks.json",
            "GATEWAY_LOGIN_RATE_PER_S": "1000",
            "GATEWAY_LOGIN_RATE_BURST": "1000",
        }
        started.append(Process("gateway_service.main:create_app", env, port=gateway_port))
        yield Stack(gateway, database_url, latvija.url)
    finally:
        for process in reversed(started):
            process.stop()


@contextlib.asynccontextmanager
async def serving(app: FastAPI, port: int) -> AsyncIterator[str]:
    """Serve the app (lifespan included) on a loopback port; its base URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                raise RuntimeError("the portal did not start")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture(scope="session")
async def portal(postgres: Postgres, stack: Stack, portal_port: int) -> AsyncIterator[Portal]:
    """The portal with a migrated database of its own, served on its port."""
    _, database_url = await asyncio.to_thread(_create_database, postgres, "portal")
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
    settings = PortalSettings(
        environment="test",
        database_url=database_url,
        public_url=f"http://127.0.0.1:{portal_port}",
        gateway_url=stack.gateway,
        gateway_public_url=stack.gateway,
        logout_origins=[stack.latvija],
        session_key=Fernet.generate_key().decode(),
        run_background_workers=False,
        log_json=False,
    )
    app = create_app(settings)
    async with serving(app, portal_port) as url:
        yield Portal(url, app, settings)


@pytest.fixture
async def http(portal: Portal) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping HTTP client of the portal that does not follow redirects."""
    async with httpx.AsyncClient(base_url=portal.url, timeout=20) as client:
        yield client


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium (Debian's) for the whole session."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test."""
    made = await browser.new_context()
    yield made
    await made.close()


# The whole system ------------------------------------------------------------------------------


@dataclass
class System:
    """The whole dev stack (`deploy/dev/stack.py`) with its demo data: every service, the portal,
    the stand-ins (VIIS, Latvija.lv, E-klase, Mykoob) and the dev console."""

    urls: StackUrls
    stack: DevStack
    started_in_s: float

    @property
    def portal(self) -> str:
        """The portal's base URL."""
        return self.urls.portal

    def token(self, role: str, **claims: str) -> str:
        """A token the console mints for any role and claims (not a real person's login)."""
        return self.stack.token(role, **claims)


# A module logs its demo people in many times from one address: more than the gateway's
# per-address limits on logins and token requests allow a real browser.
UNLIMITED_LOGINS = {
    "GATEWAY_LOGIN_RATE_PER_S": "1000",
    "GATEWAY_LOGIN_RATE_BURST": "1000",
    "GATEWAY_TOKEN_RATE_PER_S": "1000",
    "GATEWAY_TOKEN_RATE_BURST": "1000",
}


class Systems:
    """This worker's stacks: a module's own, stopped as it ends, and the shared ones by name and
    `STACK_ENV`, stopped after the last module sharing one (or at the session's end). A stack is
    stopped in the background (PostgreSQL's shutdown alone takes seconds), so the next module
    starts meanwhile; the session waits for every stop before it ends."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._shared: dict[SharedKey, System | BaseException] = {}
        self._stopping: list[threading.Thread] = []

    def start(self, env: dict[str, str]) -> System:
        """A pristine stack with the demo data (`DevStack.wait_ready`); its PostgreSQL starts
        from the session's migrated template (`shared_kit.testing.stack_template`)."""
        data_dir = self._tmp.mktemp("system")
        started = time.monotonic()
        start_from(self._template(), data_dir)
        stack = DevStack(data_dir, isolated=True, env={**quiet_env(), **UNLIMITED_LOGINS, **env})
        try:
            urls = stack.wait_ready()
        except BaseException:
            self.stop_later(stack)
            raise
        return System(urls, stack, time.monotonic() - started)

    def _template(self) -> Path:
        # In the folder all xdist workers of the session share: one of them makes it.
        base = self._tmp.getbasetemp()
        root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
        return postgres_template(root / "stack-postgres-template")

    def shared(self, key: SharedKey) -> System:
        """The stack shared under `key`, started by the first module that asks (a failed start
        fails the other modules of the name at once)."""
        if key not in self._shared:
            try:
                self._shared[key] = self.start(dict(key[1]))
            except Exception as exc:
                self._shared[key] = exc
                raise
        found = self._shared[key]
        if isinstance(found, BaseException):
            raise RuntimeError(f"the shared stack {key[0]!r} did not start") from found
        return found

    def release(self, key: SharedKey) -> None:
        """The last module sharing `key` is done: stop its stack."""
        found = self._shared.pop(key, None)
        if isinstance(found, System):
            self.stop_later(found.stack)

    def stop_later(self, stack: DevStack) -> None:
        """Stop a stack (and remove its data) in the background."""

        def stop() -> None:
            try:
                stack.stop()
            finally:
                shutil.rmtree(stack.data_dir, ignore_errors=True)

        thread = threading.Thread(target=stop, name=f"stop-stack-{stack.port_base}")
        thread.start()
        self._stopping.append(thread)

    def close(self) -> None:
        """Stop what is still running and wait for every stop."""
        for key in list(self._shared):
            self.release(key)
        for thread in self._stopping:
            thread.join()


SharedKey = tuple[str, tuple[tuple[str, str], ...]]  # (SHARED_STACK, sorted STACK_ENV items)
SYSTEMS = pytest.StashKey[Systems]()


def shared_key(module: object) -> SharedKey | None:
    """The shared stack a test module asks for (`SHARED_STACK`, with its `STACK_ENV`), if any."""
    name = getattr(module, "SHARED_STACK", None)
    if name is None:
        return None
    return str(name), tuple(sorted(getattr(module, "STACK_ENV", {}).items()))


@pytest.fixture(scope="session")
def systems(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[Systems]:
    """This worker's whole-system stacks."""
    made = Systems(tmp_path_factory)
    pytestconfig.stash[SYSTEMS] = made
    try:
        yield made
    finally:
        del pytestconfig.stash[SYSTEMS]
        made.close()


@pytest.fixture(scope="module")
def system(systems: Systems, request: pytest.FixtureRequest) -> Iterator[System]:
    """A pristine system per test module (its own PostgreSQL, broker and ports): no module sees
    another's reservations, contracts or tickets. A module's `STACK_ENV` (a dict) sets the
    services' settings it needs, e.g. `CONTRACTS_SIGN_MAX_AGE_S`.

    A module that sets `SHARED_STACK = "<name>"` shares one system with the other modules of
    that name and `STACK_ENV` instead (they run one after another on one xdist worker, see
    `shared_kit.testing.sharing`): its tests must not depend on pristine data or on the other
    modules' order — they create what they need and assert relative to it."""
    key = shared_key(request.module)
    if key is not None:
        yield systems.shared(key)
        return
    own = systems.start(getattr(request.module, "STACK_ENV", {}))
    try:
        yield own
    finally:
        systems.stop_later(own.stack)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the last test of the modules sharing a stack, stop it (the next test is elsewhere)."""
    try:
        return (yield)
    finally:
        key = shared_key(getattr(item, "module", None))
        # No next item is not the end: xdist may be waiting to be given more (the session's
        # end stops what is left).
        after = shared_key(getattr(nextitem, "module", None)) if nextitem else key
        systems = item.config.stash.get(SYSTEMS, None)
        if key is not None and key != after and systems is not None:
            systems.release(key)


async def log_in(
    page: Page,
    system: System,
    person: str,
    *,
    method: str = "eparaksts",
    start: str = "/",
    lands_on: str = "/home",
) -> None:
    """Log a demo person (a key of `viis_standin.DEMO_PEOPLE`) in as they would: the portal's
    `start` page → "Log in with Latvija.lv" → the stand-in → back on the portal at `lands_on`.
    Works with JavaScript off too."""
    await page.goto(f"{system.portal}{start}")
    await page.get_by_role("button", name=re.compile(r"Latvija\.lv")).click()
    await latvija_approves(page, person, method=method, then=f"{system.portal}{lands_on}")


async def latvija_approves(
    page: Page, person: str, *, method: str = "eparaksts", then: str | re.Pattern[str]
) -> None:
    """On the Latvija.lv stand-in's page (a login, or a strong login to sign): pick the person
    and the method, approve, and follow the signed answer back until the browser is at `then`
    (a URL, its query aside, or a pattern). With JavaScript off, the stand-in's SAML POST form
    shows a Continue button instead of sending itself: it is pressed."""
    await page.get_by_role("radio", name=re.compile(rf"\({re.escape(person)}\)$")).check()
    await page.get_by_label("Authentication method").select_option(method)
    await page.get_by_role("button", name="Approve").click()
    proceed = page.get_by_role("button", name="Continue")
    deadline = time.monotonic() + 30
    while not _at(page.url, then):
        if time.monotonic() > deadline:
            raise AssertionError(f"{person}'s Latvija.lv login ended at {page.url}, not {then}")
        with contextlib.suppress(PlaywrightError):  # the page may be navigating away
            if await proceed.is_visible():
                await proceed.click()
        await asyncio.sleep(0.1)
    await page.wait_for_load_state()


def _at(url: str, then: str | re.Pattern[str]) -> bool:
    if isinstance(then, re.Pattern):
        return then.search(url) is not None
    return url.split("?", 1)[0] == then


async def api_token(
    system: System, person: str, *, provider: str = "latvija", method: str = "eparaksts"
) -> str:
    """A demo person's own access token from a real login through the gateway (the same person,
    with the same ids, as their portal session)."""
    return await asyncio.to_thread(login_token, system.urls.console, person, provider, method)


async def api_as(system: System, person: str, *, provider: str = "latvija") -> AsyncApi:
    """A caller of the services' APIs as a demo person: `await api.ok("GET", "reservations",
    "/availability", params=...)`."""
    return AsyncApi(system.urls, await api_token(system, person, provider=provider))


async def require_approval(system: System, municipality: str = RIGA) -> None:
    """The municipality's reservations wait for the school's approval (the demo default is
    auto-approval), as its administrator sets it through the reservations API."""
    await _auto_approve(system, municipality, on=False)


async def approve_at_once(system: System, municipality: str = RIGA) -> None:
    """The municipality approves reservations at once (the demo default), as its administrator
    sets it: for a module on a shared stack, where another may have required approval."""
    await _auto_approve(system, municipality, on=True)


async def _auto_approve(system: System, municipality: str, *, on: bool) -> None:
    admin = await api_as(system, "municipality_admin")
    path = f"/policies/{municipality}"
    policy = await admin.call("GET", "reservations", path)
    assert policy.is_success, policy.text
    rules = {k: v for k, v in policy.json().items() if k not in ("municipality_code", "version")}
    await admin.ok("PUT", "reservations", path, json={**rules, "auto_approve": on},
                   headers={"If-Match": policy.headers["etag"]})  # fmt: skip


@contextlib.asynccontextmanager
async def context_without_js(browser: Browser, **options: object) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile with JavaScript disabled."""
    made = await browser.new_context(java_script_enabled=False, **options)  # type: ignore[arg-type]
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def no_js_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile with JavaScript disabled, per test."""
    async with context_without_js(browser) as made:
        yield made


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every portal test starts processes (the gateway, stand-ins): mark them slow. The modules
    of one shared stack run one after another, where the first of them would (so that one stack
    serves them all without xdist too); each declares its name as the scheduler reads it."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.slow)
    groups: dict[object, list[pytest.Item]] = {}
    for item in items:
        key = shared_key(getattr(item, "module", None))
        if key is not None and declared_shared_stack(Path(str(item.fspath))) != key[0]:
            raise pytest.UsageError(
                f"{item.fspath}: write SHARED_STACK as a plain string at module level"
            )
        groups.setdefault(key or item, []).append(item)
    items[:] = [item for group in groups.values() for item in group]
