"""Portal test fixtures: a real gateway (with the VIIS, Latvija.lv and Mykoob stand-ins) in
subprocesses, the portal served over real HTTP in-process, and one headless Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, async_playwright

from portal_service.config import PortalSettings
from portal_service.main import MIGRATIONS, create_app
from shared_kit.migrations import upgrade
from shared_kit.testing.gateway import GATEWAY_MIGRATIONS, Process
from shared_kit.testing.infra import Postgres, free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every portal test starts processes (the gateway, stand-ins): mark them slow."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.slow)
