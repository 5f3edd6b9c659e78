"""A real gateway for tests of the services that call it: its own database, the VIIS and Mykoob
stand-ins.

The gateway runs as `uvicorn gateway_service.main:create_app --factory` in a subprocess, as
the local stack starts it (its package is never imported here); its migrations are applied by
path. A machine client for `people:personal-code` is created with the gateway's operator CLI,
and people come into being the way they do in production: by logging in (the test plays the
browser through the Mykoob stand-in).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from shared_kit.migrations import upgrade
from shared_kit.testing.infra import Postgres, free_port

REPO = Path(__file__).resolve().parents[4]  # shared/src/shared_kit/testing/gateway.py
GATEWAY_MIGRATIONS = REPO / "services" / "gateway" / "src" / "gateway_service" / "migrations"
DEV = REPO / "deploy" / "dev"
APP = "http://app.test"
RETURN_TO = f"{APP}/after-login"
START_TIMEOUT_S = 90.0  # a loaded 2-core CI machine imports a service in 20-40 s


class Process:
    """A uvicorn app in a subprocess of its own on a free loopback port."""

    def __init__(self, app: str, env: dict[str, str], *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "uvicorn", app, "--app-dir", str(DEV)]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        if app.endswith("create_app"):
            command.append("--factory")
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.url} exited with {self.process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.url} did not become ready")

    def stop(self) -> None:
        """Terminate the process this fixture started."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@dataclass
class Gateway:
    """The running gateway and the machine client contracts uses."""

    url: str
    database_url: str
    client_id: str
    client_secret: str

    async def login(self, person: str) -> dict[str, Any]:
        """Log a demo person in through Mykoob; the claims of their access token."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        params = {
            "return_to": RETURN_TO,
            "state": "s",
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        }
        async with httpx.AsyncClient(base_url=self.url, timeout=15) as browser:
            start = await browser.get("/login/mykoob", params=params)
            assert start.status_code == 302, start.text
            callback = await _approve(browser, start.headers["location"], person)
            done = await browser.get(callback)
            assert done.status_code == 302, done.text
            code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": RETURN_TO,
            }
            token = await browser.post("/oauth/token", data=form)
        assert token.status_code == 200, token.text
        payload = token.json()["access_token"].split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def _approve(browser: httpx.AsyncClient, authorize_url: str, person: str) -> str:
    """Submit the stand-in's consent form for the person; where it sends the browser back."""
    page = await browser.get(authorize_url)
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]*)">', page.text)
    assert action is not None
    fields = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text))
    parts = urlsplit(authorize_url)
    back = await browser.post(
        f"{parts.scheme}://{parts.netloc}{unescape(action[1])}",
        data={unescape(k): unescape(v) for k, v in fields.items()}
        | {"person": person, "decision": "approve", "school": ""},
    )
    assert back.status_code == 302, back.text
    return str(back.headers["location"])


def _admin(sql: str, postgres: Postgres) -> None:
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> None:
        engine = create_async_engine(postgres.admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run())


@contextlib.contextmanager
def running_gateway(
    postgres: Postgres, *, trust: tuple[str, str] | None = None
) -> Iterator[Gateway]:
    """A migrated gateway database, the stand-ins, the gateway, and a machine client.

    `trust` = (JWKS URL, issuer): the gateway's API accepts that issuer's tokens (a test's
    token issuer, whose tokens carry the audience `gateway`) instead of its own.
    """
    name = f"gw_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"', postgres)
    database_url = postgres.url(name)
    started: list[Process] = []
    try:
        upgrade(GATEWAY_MIGRATIONS, database_url)
        viis = Process("viis_standin:app", {})
        started.append(viis)
        mykoob = Process("mykoob_standin:app", {})
        started.append(mykoob)
        port = free_port()
        env = {
            "GATEWAY_ENVIRONMENT": "dev",
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_RUN_BACKGROUND_WORKERS": "false",
            "GATEWAY_RETURN_TO_ALLOWED": APP,
            "GATEWAY_VIIS_URL": viis.url,
            "GATEWAY_MYKOOB_AUTHORIZE_URL": f"{mykoob.url}/oauth/authorize",
            "GATEWAY_MYKOOB_TOKEN_URL": f"{mykoob.url}/oauth/token",
            "GATEWAY_MYKOOB_API_URL": f"{mykoob.url}/api/v1",
            "GATEWAY_LOG_JSON": "false",
        }
        cli = ["gateway_service.cli", "admin", "client", "create", "--name", "contracts"]
        client = subprocess.run(
            [sys.executable, "-m", *cli, "--scope", "people:personal-code"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        created = json.loads(client.stdout)
        url = f"http://127.0.0.1:{port}"
        own = {"GATEWAY_ISSUER": url, "GATEWAY_JWKS_URL": f"{url}/.well-known/jwks.json"}
        if trust is not None:
            own |= {"GATEWAY_JWKS_URL": trust[0], "GATEWAY_JWT_ISSUER": trust[1]}
        gateway = Process("gateway_service.main:create_app", env | own, port=port)
        started.append(gateway)
        yield Gateway(gateway.url, database_url, created["client_id"], created["client_secret"])
    finally:
        for process in reversed(started):
            process.stop()
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', postgres)
