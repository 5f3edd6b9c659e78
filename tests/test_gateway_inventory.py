"""Gateway tokens at the inventory: the real gateway over HTTP, the inventory verifying them.

The gateway runs as `uvicorn gateway_service.main:create_app --factory` in a subprocess, on its
own fresh database; the inventory runs in-process and fetches the gateway's JWKS over HTTP.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

import gateway_service.main
import inventory_service.main
from gateway_service import service
from gateway_service.config import GatewaySettings
from inventory_service.config import InventorySettings
from shared_kit.db import create_engine, create_session_factory
from shared_kit.testing.client import running_app
from shared_kit.testing.http import bearer
from shared_kit.testing.infra import free_port
from shared_kit.testing.tokens import JWKSServer, TokenIssuer

pytestmark = pytest.mark.slow

RIGA = "0010000"
ADMIN_CODE = "010190-10001"
START_TIMEOUT_S = 60


@dataclass
class Gateway:
    """A gateway process and the settings it runs with."""

    url: str
    settings: GatewaySettings
    admin: dict[str, str]

    async def client(self, scopes: list[str]) -> tuple[str, str]:
        """Register an API client of Rīga through the admin API; returns id and secret."""
        async with httpx.AsyncClient(base_url=self.url, headers=self.admin) as http:
            r = await http.post(
                "/api/v1/gateway/clients",
                json={"name": "Rīgas platforma", "municipality_code": RIGA, "scopes": scopes},
            )
        assert r.status_code == 201, r.text
        return r.json()["client_id"], r.json()["client_secret"]

    async def token(self, client_id: str, secret: str, scope: str) -> str:
        """A client-credentials token over HTTP."""
        async with httpx.AsyncClient(base_url=self.url) as http:
            r = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "scope": scope},
                auth=(client_id, secret),
            )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    async def admin_login(self) -> str:
        """What a login flow does for the bootstrap admin, on the gateway's own database."""
        engine = create_engine(self.settings.database_url)
        try:
            # Resolving the bootstrap admin grants a role, which publishes through the outbox.
            sessions = create_session_factory(engine, outbox_topic=self.settings.events_topic)
            async with sessions() as session, session.begin():
                now = dt.datetime.now(dt.UTC)
                person = await service.resolve_person(
                    session=session, settings=self.settings, personal_code=ADMIN_CODE, now=now
                )
                tokens = await service.start_session(
                    session=session,
                    settings=self.settings,
                    person=person,
                    idp="latvija.lv",
                    amr=["eparaksts"],
                    auth_time=now,
                    now=now,
                )
        finally:
            await engine.dispose()
        return tokens.access_token


def _env(settings: GatewaySettings) -> dict[str, str]:
    return {
        **os.environ,
        "GATEWAY_ENVIRONMENT": "test",
        "GATEWAY_DATABASE_URL": settings.database_url,
        "GATEWAY_ISSUER": settings.issuer,
        "GATEWAY_JWKS_URL": settings.jwks_url,
        "GATEWAY_JWT_AUDIENCE": settings.jwt_audience,
        "GATEWAY_JWT_ISSUER": settings.jwt_issuer or "",
        "GATEWAY_KEY_ENCRYPTION_KEY": settings.key_encryption_key.get_secret_value(),
        "GATEWAY_PERSONAL_CODE_PEPPER": settings.personal_code_pepper.get_secret_value(),
        "GATEWAY_BOOTSTRAP_ADMIN_PERSONAL_CODE": ADMIN_CODE,
        "GATEWAY_JWKS_MAX_AGE_S": "0",  # the inventory refetches unknown keys anyway
        "GATEWAY_RUN_BACKGROUND_WORKERS": "false",
        "GATEWAY_LOG_JSON": "false",
    }


@pytest.fixture
def gateway_log() -> Iterator[Any]:
    """A file the gateway process writes its output to (shown when it fails to start)."""
    with tempfile.TemporaryFile("w+") as log:
        yield log


@pytest.fixture
async def gateway(
    make_database: Callable[..., Any],
    jwks_server: JWKSServer,
    token_issuer: TokenIssuer,
    gateway_log: Any,
) -> AsyncIterator[Gateway]:
    """A gateway process on a free port, on a fresh database."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = GatewaySettings(
        database_url=await make_database(gateway_service.main.MIGRATIONS),
        issuer=url,
        jwks_url=jwks_server.jwks_url,
        jwt_audience=token_issuer.audience,
        jwt_issuer=token_issuer.issuer,
        key_encryption_key=Fernet.generate_key().decode(),
        personal_code_pepper="cross-service-test-pepper-0123456789",
        bootstrap_admin_personal_code=ADMIN_CODE,
    )
    process = _start(settings, port, gateway_log)
    try:
        await _wait_until_up(url, process, gateway_log)
        admin = {"Authorization": f"Bearer {token_issuer.mint(roles=['platform_admin'])}"}
        yield Gateway(url=url, settings=settings, admin=admin)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _start(settings: GatewaySettings, port: int, log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gateway_service.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        env=_env(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


async def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Any) -> None:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
    async with httpx.AsyncClient(base_url=url, timeout=2) as http:
        while asyncio.get_running_loop().time() < deadline:
            if process.poll() is not None:
                break
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    log.seek(0)
    pytest.fail(f"the gateway did not come up:\n{log.read()}")


@pytest.fixture
async def inventory(
    make_database: Callable[..., Any], gateway: Gateway, kafka_bootstrap: str, unique: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The inventory, in-process, trusting the gateway's JWKS for audience `inventory`."""
    settings = InventorySettings(
        environment="test",
        database_url=await make_database(inventory_service.main.MIGRATIONS),
        jwks_url=f"{gateway.url}/.well-known/jwks.json",
        jwt_issuer=gateway.url,
        jwt_audience="inventory",
        jwks_min_refresh_s=0,
        kafka_bootstrap_servers=kafka_bootstrap,
        events_topic=f"inventory.events.{unique}",
        run_background_workers=False,
        log_json=False,
    )
    async with running_app(inventory_service.main.create_app(settings)) as client:
        yield client


API = "/api/v1/inventory"


class TestGatewayTokensAtTheInventory:
    async def test_client_credentials_token_is_accepted(
        self, gateway: Gateway, inventory: httpx.AsyncClient
    ) -> None:
        admin = await gateway.admin_login()
        r = await inventory.post(
            f"{API}/municipalities", json={"code": RIGA, "name": "Rīga"}, headers=bearer(admin)
        )
        assert r.status_code == 201, r.text
        client_id, secret = await gateway.client(["inventory:read", "inventory:write"])
        token = await gateway.token(client_id, secret, "inventory:read inventory:write")
        r = await inventory.post(
            f"{API}/institutions",
            json={"registration_number": "3113900001", "name": "Skola", "municipality_code": RIGA},
            headers=bearer(token),
        )
        assert r.status_code == 201, r.text
        r = await inventory.get(
            f"{API}/devices", params={"municipality": RIGA}, headers=bearer(token)
        )
        assert r.status_code == 200, r.text

    async def test_token_for_another_audience_is_refused(
        self, gateway: Gateway, inventory: httpx.AsyncClient
    ) -> None:
        client_id, secret = await gateway.client(["tickets:read"])
        token = await gateway.token(client_id, secret, "tickets:read")
        r = await inventory.get(f"{API}/devices", headers=bearer(token))
        assert r.status_code == 401
        assert "aud" in r.json()["detail"]

    async def test_token_signed_by_an_unknown_key_is_refused(
        self, gateway: Gateway, inventory: httpx.AsyncClient
    ) -> None:
        stranger = TokenIssuer(audience="inventory", issuer=gateway.url)
        token = stranger.mint(roles=["platform_admin"])
        r = await inventory.get(f"{API}/devices", headers=bearer(token))
        assert r.status_code == 401

    async def test_rotation_keeps_old_tokens_and_accepts_new_ones(
        self, gateway: Gateway, inventory: httpx.AsyncClient
    ) -> None:
        client_id, secret = await gateway.client(["inventory:read"])
        old = await gateway.token(client_id, secret, "inventory:read")
        assert (await inventory.get(f"{API}/devices", headers=bearer(old))).status_code == 200
        async with httpx.AsyncClient(base_url=gateway.url, headers=gateway.admin) as http:
            assert (await http.post("/api/v1/gateway/keys/rotate")).status_code == 200
        new = await gateway.token(client_id, secret, "inventory:read")
        for token in (old, new):
            assert (await inventory.get(f"{API}/devices", headers=bearer(token))).status_code == 200
