"""Logins and `/oauth/*` are rate-limited per client address, with a problem (or OAuth error)
that says when to come back; the address is the socket peer's unless that is a trusted proxy."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import sys
from collections.abc import AsyncIterator
from ipaddress import ip_network
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from gateway_service.config import GatewaySettings
from gateway_service.main import create_app
from gateway_service.models import AuditEvent
from shared_kit.settings import ServiceSettings
from shared_kit.testing.client import running_app
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import problem
from shared_kit.testing.infra import free_port

LOGIN = {"return_to": "https://evil.example/cb", "code_challenge": "a" * 43}
CLIENT_PEER = ("203.0.113.7", 50000)  # a caller on the internet, straight at the gateway
INGRESS_PEER = ("10.244.3.7", 50000)  # the ingress controller


def strict(settings: GatewaySettings, **update: object) -> GatewaySettings:
    """Two requests per address, then a long wait (logins and the token endpoint alike)."""
    limits = {"login_rate_per_s": 0.01, "login_rate_burst": 2}
    limits |= {"token_rate_per_s": 0.01, "token_rate_burst": 2}
    return settings.model_copy(update={**limits, **update})


def forwarded(address: str) -> dict[str, str]:
    """An X-Forwarded-For header."""
    return {"X-Forwarded-For": address}


async def test_too_many_login_starts_get_429_with_retry_after(settings: GatewaySettings) -> None:
    async with running_app(create_app(strict(settings))) as client:
        first = [await client.get("/login/eklase", params=LOGIN) for _ in range(2)]
        assert [r.status_code for r in first] == [400, 400]  # counted, then refused on merit
        limited = await client.get("/login/eklase", params=LOGIN)
        problem(limited, 429, "too-many-requests")
        assert int(limited.headers["retry-after"]) >= 1
        callback = await client.get("/login/eklase/callback", params={"state": "x"})
        problem(callback, 429, "too-many-requests")
        page = await client.get("/login")
        assert page.status_code == 200  # the choice page itself is not limited


async def test_the_limits_refill_as_the_clock_moves(
    settings: GatewaySettings, clock: TestClock
) -> None:
    async with running_app(create_app(strict(settings), clock)) as client:
        for _ in range(2):
            await client.get("/login/eklase", params=LOGIN)
            await client.post("/oauth/token", data={"grant_type": "refresh_token"})
        login = await client.get("/login/eklase", params=LOGIN)
        token = await client.post("/oauth/token", data={"grant_type": "refresh_token"})
        assert (login.status_code, token.status_code) == (429, 429)
        clock.advance(seconds=int(login.headers["retry-after"]))
        login = await client.get("/login/eklase", params=LOGIN)
        token = await client.post("/oauth/token", data={"grant_type": "refresh_token"})
        assert (login.status_code, token.status_code) == (400, 400)  # let through again


class TestRotatingForwardedFor:
    async def test_does_not_escape_the_login_limit(self, settings: GatewaySettings) -> None:
        app = create_app(strict(settings, trusted_proxies=[ip_network("10.244.0.0/16")]))
        async with running_app(app, peer=CLIENT_PEER) as client:
            answers = [
                await client.get(
                    "/login/eklase", params=LOGIN, headers=forwarded(f"198.51.100.{i}")
                )
                for i in range(3)
            ]
        assert [r.status_code for r in answers] == [400, 400, 429]

    async def test_does_not_escape_the_token_limit(self, settings: GatewaySettings) -> None:
        async with running_app(create_app(strict(settings)), peer=CLIENT_PEER) as client:
            answers = [
                await client.post(
                    "/oauth/token",
                    data={"grant_type": "refresh_token", "refresh_token": "x"},
                    headers=forwarded(f"198.51.100.{i}"),
                )
                for i in range(3)
            ]
            revoke = await client.post(
                "/oauth/revoke", data={"token": "x"}, headers=forwarded("1.1.1.1")
            )
        assert [r.status_code for r in answers] == [400, 400, 429]
        assert answers[2].json()["error"] == "rate_limited"
        assert revoke.status_code == 429


class TestBehindTrustedProxy:
    async def test_each_real_client_has_its_own_limit(self, settings: GatewaySettings) -> None:
        app = create_app(strict(settings, trusted_proxies=[ip_network("10.244.0.0/16")]))
        async with running_app(app, peer=INGRESS_PEER) as client:

            async def start(chain: str) -> int:
                answer = await client.get("/login/eklase", params=LOGIN, headers=forwarded(chain))
                return answer.status_code

            # The client's own X-Forwarded-For entries are to the left of what the ingress added.
            first = [await start(f"1.2.3.{i}, 198.51.100.1") for i in range(3)]
            other = await start("198.51.100.2")
        assert first == [400, 400, 429]
        assert other == 400

    async def test_the_audit_log_records_the_real_client(self, settings: GatewaySettings) -> None:
        app = create_app(
            settings.model_copy(update={"trusted_proxies": [ip_network("10.244.0.0/16")]})
        )
        async with running_app(app, peer=INGRESS_PEER) as client:
            r = await client.get(
                "/login/eklase/callback",
                params={"state": "unknown", "code": "x"},
                headers=forwarded("6.6.6.6, 198.51.100.1"),
            )
            assert r.status_code == 400
            async with app.state.sessions() as session:
                rows = (await session.scalars(select(AuditEvent))).all()
        assert [(row.action, row.client_address) for row in rows] == [
            ("login.failed", "198.51.100.1")
        ]


# As deployed: uvicorn with the flags and environment the image, Kubernetes and the stack give.

REPO = Path(__file__).resolve().parents[3]
GATEWAY_APP = "gateway_service.main:create_app"


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs if not name.startswith("#")}


def _image_command() -> list[str]:
    dockerfile = (REPO / "services" / "gateway" / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    return list(json.loads(cmd.removeprefix("CMD ")))[1:]  # after "uvicorn"


def _stack_command() -> list[str]:
    sys.path.insert(0, str(REPO / "deploy" / "dev"))  # stack.py imports its sibling `demo`
    try:
        stack = importlib.import_module("stack")
    finally:
        sys.path.pop(0)
    return list(stack.uvicorn(GATEWAY_APP, 8100, *stack.SERVICE_OPTIONS))  # after python -m uvicorn


DEPLOYMENTS = {
    "kubernetes": lambda: (_image_command(), _env_file(REPO / "k8s/base/gateway/config.env")),
    "local stack": lambda: (_stack_command(), {}),
}


@contextlib.asynccontextmanager
async def served(app: FastAPI, args: list[str], env: dict[str, str]) -> AsyncIterator[str]:
    """The app under a real uvicorn server configured by these command-line options."""
    options = uvicorn.main.make_context("uvicorn", args).params
    allowed = options["forwarded_allow_ips"] or env.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=free_port(),
        proxy_headers=options["proxy_headers"],
        forwarded_allow_ips=allowed,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await task


class TestAsDeployed:
    @pytest.mark.parametrize("deployment", sorted(DEPLOYMENTS))
    async def test_rotating_forwarded_for_does_not_escape(
        self, settings: GatewaySettings, deployment: str
    ) -> None:
        args, env = DEPLOYMENTS[deployment]()
        trusted = ServiceSettings(trusted_proxies=env.get("GATEWAY_TRUSTED_PROXIES", ""))
        app = create_app(strict(settings, trusted_proxies=trusted.trusted_proxies))
        async with served(app, args, env) as url, httpx.AsyncClient(base_url=url) as client:
            answers = [
                await client.get("/login/eklase", params=LOGIN, headers=forwarded(f"6.6.6.{i}"))
                for i in range(3)
            ]
        assert [r.status_code for r in answers] == [400, 400, 429]
