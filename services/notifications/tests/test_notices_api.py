"""A person's notices through the API: newest first with cursors, unread count, read one and
all, in the person's language; nobody reads another's notice, and a machine has none."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer
from shared_kit.testing.tokens import TokenIssuer

from .conftest import API
from .upstream import GUARDIAN, Feed, reservation_event

NOTICES = f"{API}/me/notices"


@pytest.fixture
def guardian(token_issuer: TokenIssuer) -> str:
    """The guardian's token (audience notifications)."""
    return token_issuer.mint(GUARDIAN, roles=["guardian"], audience="notifications")


@pytest.fixture
async def told(app: FastAPI, clock: TestClock, client: httpx.AsyncClient) -> list[str]:
    """Five reservation notices for the guardian; their reservation ids, oldest first."""
    feed = Feed(app, clock)
    reservations = [str(uuid.uuid4()) for _ in range(5)]
    for reservation in reservations:
        await feed(reservation_event("approved", reservation))
    return reservations


async def page(client: httpx.AsyncClient, token: str, **params: object) -> dict[str, object]:
    """One page of the caller's notices."""
    r = await client.get(NOTICES, params=params, headers=bearer(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def unread(client: httpx.AsyncClient, token: str) -> int:
    """The caller's unread count."""
    r = await client.get(f"{NOTICES}/unread-count", headers=bearer(token))
    assert r.status_code == 200, r.text
    return int(r.json()["unread"])


class TestList:
    async def test_newest_first_page_by_page(
        self, client: httpx.AsyncClient, guardian: str, told: list[str]
    ) -> None:
        first = await page(client, guardian, limit=2)
        second = await page(client, guardian, limit=2, cursor=first["next_cursor"])
        third = await page(client, guardian, limit=2, cursor=second["next_cursor"])
        items = [*first["items"], *second["items"], *third["items"]]  # type: ignore[misc]
        assert third["next_cursor"] is None
        links = [i["link"] for i in items]
        assert links == [f"/families/reservations/{r}" for r in reversed(told)]
        assert {i["kind"] for i in items} == {"reservation_approved"}
        assert items[0]["title"] == "Jūsu rezervācija ir apstiprināta"
        assert "3113900001" in items[0]["body"] and "http" not in items[0]["body"]

    async def test_in_english_when_the_person_chose_it(
        self, client: httpx.AsyncClient, guardian: str, told: list[str], engine: AsyncEngine
    ) -> None:
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO recipient (person_id, language) VALUES (:p, 'en')"),
                {"p": GUARDIAN},
            )
        items = (await page(client, guardian, limit=1))["items"]
        assert items[0]["title"] == "Your reservation is approved"  # type: ignore[index]

    async def test_a_garbled_cursor_is_a_problem(
        self, client: httpx.AsyncClient, guardian: str
    ) -> None:
        r = await client.get(
            NOTICES, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=bearer(guardian)
        )
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")


class TestRead:
    async def test_read_one_then_all(
        self, client: httpx.AsyncClient, guardian: str, told: list[str]
    ) -> None:
        assert await unread(client, guardian) == 5
        newest = (await page(client, guardian, limit=1))["items"][0]  # type: ignore[index]
        r = await client.post(f"{NOTICES}/{newest['id']}/read", headers=bearer(guardian))
        assert r.status_code == 204
        assert await unread(client, guardian) == 4
        assert (await page(client, guardian, limit=1))["items"][0]["read_at"]  # type: ignore[index]
        r = await client.post(f"{NOTICES}/read-all", headers=bearer(guardian))
        assert r.status_code == 204
        assert await unread(client, guardian) == 0

    async def test_another_persons_notice_is_not_found(
        self,
        client: httpx.AsyncClient,
        guardian: str,
        told: list[str],
        token_issuer: TokenIssuer,
    ) -> None:
        stranger = token_issuer.mint(roles=["guardian"], audience="notifications")
        newest = (await page(client, guardian, limit=1))["items"][0]  # type: ignore[index]
        r = await client.post(f"{NOTICES}/{newest['id']}/read", headers=bearer(stranger))
        assert r.status_code == 404
        assert r.json()["type"].endswith("notice-not-found")
        assert (await page(client, stranger))["items"] == []
        assert await unread(client, guardian) == 5


class TestAccess:
    async def test_no_token_wrong_audience_or_a_machine(
        self, client: httpx.AsyncClient, token_issuer: TokenIssuer
    ) -> None:
        assert (await client.get(NOTICES)).status_code == 401
        other = token_issuer.mint(GUARDIAN, roles=["guardian"], audience="tickets")
        assert (await client.get(NOTICES, headers=bearer(other))).status_code == 401
        machine = token_issuer.mint(
            "client-riga", roles=["service"], client_id="riga", audience="notifications"
        )
        r = await client.get(f"{NOTICES}/unread-count", headers=bearer(machine))
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
        bad = await client.post(f"{NOTICES}/not-a-uuid/read", headers=bearer(machine))
        assert bad.status_code in (403, 422)
