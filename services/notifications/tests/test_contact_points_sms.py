"""A mobile number as a contact point: its code goes through the SMS provider's HTTP API (the
stand-in under deploy/dev, over real HTTP)."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from notifications_service.config import NotificationsSettings
from notifications_service.main import MIGRATIONS
from shared_kit.testing.client import serving
from shared_kit.testing.http import bearer, problem
from shared_kit.testing.tokens import TokenIssuer

from .conftest import API

DEV = Path(__file__).resolve().parents[3] / "deploy" / "dev"
KEY = "test-sms-key"
SMS = f"{API}/me/contact-points/sms"
NUMBER = "+37129000001"  # invented
UNREACHABLE = "+37120000042"  # one the stand-in refuses for good


def _load(name: str, path: Path) -> ModuleType:
    """Import a module of deploy/dev from its file."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


standin = _load("sms_standin", DEV / "sms_standin.py")


@pytest.fixture
async def provider() -> AsyncIterator[httpx.AsyncClient]:
    """A fresh stand-in over HTTP, and a client of its test endpoints."""
    async with (
        serving(standin.create_app(KEY)) as url,
        httpx.AsyncClient(base_url=url, timeout=5) as http,
    ):
        yield http


@pytest.fixture
async def settings(
    service_settings: Callable[..., Awaitable[Any]], provider: httpx.AsyncClient
) -> NotificationsSettings:
    """The test's settings, sending SMS to the stand-in."""
    settings: NotificationsSettings = await service_settings(
        NotificationsSettings,
        MIGRATIONS,
        sms_url=str(provider.base_url.join("/api/v1/messages")),
        sms_api_key=SecretStr(KEY),
        sms_timeout_s=5,
    )
    return settings


@pytest.fixture
async def me(client: httpx.AsyncClient, token_issuer: TokenIssuer) -> httpx.AsyncClient:
    """The client, calling as a guardian."""
    client.headers.update(bearer(token_issuer.mint(roles=["guardian"], audience="notifications")))
    return client


async def texts(provider: httpx.AsyncClient) -> list[dict[str, Any]]:
    """What the stand-in sent, oldest first."""
    return list((await provider.get("/api/v1/messages")).json())


class TestMobile:
    async def test_a_latvian_number_gets_its_code_by_sms_and_is_verified(
        self, me: httpx.AsyncClient, provider: httpx.AsyncClient
    ) -> None:
        response = await me.put(SMS, json={"address": "2900 0001"})
        assert response.status_code == 202, response.text
        assert response.json()["address"] == NUMBER
        [sent] = await texts(provider)
        assert sent["to"] == NUMBER and sent["from"] == "Datori"
        code = re.search(r"\b([0-9]{6})\b", sent["text"])
        assert code is not None
        verified = await me.post(f"{SMS}/verify", json={"code": code[1]})
        assert verified.status_code == 200 and verified.json()["verified"] is True
        again = await me.put(SMS, json={"address": "+371 2900 0001"})
        assert again.status_code == 200
        assert len(await texts(provider)) == 1

    async def test_a_number_the_provider_cannot_reach_is_422_and_not_kept(
        self, me: httpx.AsyncClient
    ) -> None:
        refused = problem(await me.put(SMS, json={"address": UNREACHABLE}), 422, "address-refused")
        assert refused["errors"][0]["pointer"] == "/address"
        assert (await me.get(f"{API}/me/contact-points")).json() == []

    async def test_a_provider_outage_is_503_and_nothing_is_kept(
        self, me: httpx.AsyncClient, provider: httpx.AsyncClient
    ) -> None:
        await provider.post("/api/v1/outage", json={"down": True})
        problem(await me.put(SMS, json={"address": NUMBER}), 503, "code-not-sent")
        assert (await me.get(f"{API}/me/contact-points")).json() == []
        await provider.post("/api/v1/outage", json={"down": False})
        assert (await me.put(SMS, json={"address": NUMBER})).status_code == 202
