"""The SMS stand-in over real HTTP, and the notifications service's SMS sender against it."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from pydantic import SecretStr

from notifications_service.channels import Outgoing, PermanentFailure, TemporaryFailure
from notifications_service.channels.sms import SmsSender
from notifications_service.config import NotificationsSettings
from shared_kit.testing.client import serving

DEV = Path(__file__).resolve().parents[1] / "deploy" / "dev"
KEY = "test-sms-key"
NUMBER = "+37129000001"  # invented


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
async def url() -> AsyncIterator[str]:
    """A fresh stand-in, served on a loopback port."""
    async with serving(standin.create_app(KEY)) as base:
        yield base


@pytest.fixture
async def client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client with the right key."""
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=5) as http:
        yield http


def sms(reference: str = "delivery-1", to: str = NUMBER, text: str = "Līgums gaida") -> dict:
    return {"to": to, "from": "Datori", "text": text, "reference": reference}


async def send(url: str, message: Outgoing, key: str = KEY) -> None:
    """Send through the service's own SMS sender, configured for the stand-in."""
    settings = NotificationsSettings(
        sms_url=f"{url}/api/v1/messages", sms_api_key=SecretStr(key), sms_timeout_s=5
    )
    sender = SmsSender(settings)
    try:
        await sender.send(message)
    finally:
        await sender.close()


async def test_a_message_is_sent_once_per_reference(client: httpx.AsyncClient) -> None:
    first = await client.post("/api/v1/messages", json=sms())
    assert first.status_code == 201
    again = await client.post("/api/v1/messages", json=sms(text="changed"))
    assert again.status_code == 200
    assert again.json() == first.json() and first.json()["reference"] == "delivery-1"
    [kept] = (await client.get("/api/v1/messages")).json()
    assert kept["id"] == first.json()["id"]
    assert (kept["to"], kept["from"], kept["text"]) == (NUMBER, "Datori", "Līgums gaida")


@pytest.mark.parametrize("key", [None, "wrong"])
async def test_a_missing_or_wrong_key_is_401(url: str, key: str | None) -> None:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, timeout=5) as anonymous:
        response = await anonymous.post("/api/v1/messages", json=sms(), headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "to", ["29000001", "+371 2900 0001", "+0123456789", "", "+37120000000", "+37120000099"]
)
async def test_an_unreachable_number_is_422(client: httpx.AsyncClient, to: str) -> None:
    response = await client.post("/api/v1/messages", json=sms(to=to))
    assert response.status_code == 422
    assert response.json()["type"] == standin.UNREACHABLE
    assert (await client.get("/api/v1/messages")).json() == []


async def test_the_number_after_the_reserved_range_is_reachable(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v1/messages", json=sms(to="+37120000100"))
    assert response.status_code == 201


@pytest.mark.parametrize("body", [{}, {"to": NUMBER}, sms(text=""), sms(reference=""), [1], "text"])
async def test_a_malformed_body_is_400_without_echo(
    client: httpx.AsyncClient, body: object
) -> None:
    response = await client.post("/api/v1/messages", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert NUMBER not in response.text


async def test_an_outage_answers_503_until_it_ends(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/outage", json={"down": True})).json() == {"down": True}
    down = await client.post("/api/v1/messages", json=sms())
    assert down.status_code == 503
    assert (await client.get("/api/v1/messages")).json() == []
    await client.post("/api/v1/outage", json={"down": False})
    assert (await client.post("/api/v1/messages", json=sms())).status_code == 201


async def test_clearing_forgets_messages_and_references(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/messages", json=sms())
    assert (await client.delete("/api/v1/messages")).status_code == 204
    assert (await client.get("/api/v1/messages")).json() == []
    assert (await client.post("/api/v1/messages", json=sms())).status_code == 201


async def test_the_page_lists_newest_first_escaped_without_script(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/messages", json=sms("a", text="first"))
    await client.post("/api/v1/messages", json=sms("b", text="<script>alert(1)</script>"))
    response = await client.get("/")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp
    html = response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html and "<style" not in html and "style=" not in html
    assert 'name="viewport"' in html
    assert html.index("&lt;script&gt;") < html.index("first")
    assert (await client.get("/style.css")).headers["content-type"].startswith("text/css")


async def test_the_sender_delivers_through_the_standin(url: str, client: httpx.AsyncClient) -> None:
    message = Outgoing("delivery-7", NUMBER, "ignored", "Atgādinājums: atdodiet datoru.")
    await send(url, message)
    await send(url, message)  # a retry after a lost answer
    listed = (await client.get("/api/v1/messages")).json()
    assert [(m["reference"], m["text"]) for m in listed] == [
        ("delivery-7", "Atgādinājums: atdodiet datoru.")
    ]


async def test_the_sender_classifies_the_standins_refusals(
    url: str, client: httpx.AsyncClient
) -> None:
    with pytest.raises(PermanentFailure):
        await send(url, Outgoing("d-1", "+37120000042", "", "x"))
    with pytest.raises(TemporaryFailure):
        await send(url, Outgoing("d-2", NUMBER, "", "x"), key="wrong")
    await client.post("/api/v1/outage", json={"down": True})
    with pytest.raises(TemporaryFailure):
        await send(url, Outgoing("d-3", NUMBER, "", "x"))
