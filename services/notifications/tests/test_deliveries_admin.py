"""Failed deliveries for platform administrators: listed without addresses, retried on demand."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications_service.config import NotificationsSettings
from shared_kit.testing.clock import TestClock
from shared_kit.testing.http import bearer
from shared_kit.testing.mailsink import MailSink
from shared_kit.testing.tokens import TokenIssuer

from .conftest import API
from .outbox import GUARDIAN, deliveries, notify, one_pass, person

EMAIL = "ilze@example.lv"


def token(issuer: TokenIssuer, *roles: str, **claims: object) -> dict[str, str]:
    return bearer(issuer.mint(roles=list(roles), audience="notifications", **claims))  # type: ignore[arg-type]


async def failed_delivery(
    engine: AsyncEngine, settings: NotificationsSettings, sink: MailSink, clock: TestClock
) -> uuid.UUID:
    """A delivery that used up its attempts while the server said 421."""
    settings = settings.model_copy(update={"dispatch_max_attempts": 2})
    await person(engine, settings, email=EMAIL)
    await notify(engine, settings, clock())
    sink.paused = True
    for _ in range(2):
        await one_pass(engine, settings, clock)
        clock.advance(seconds=settings.retry_cap_s)
    sink.paused = False
    [row] = await deliveries(engine)
    assert row["state"] == "failed"
    return row["id"]


class TestFailedList:
    async def test_a_failed_delivery_is_listed_without_address_or_text_and_retried(
        self, client: httpx.AsyncClient, engine: AsyncEngine, mail_settings: NotificationsSettings,
        sink: MailSink, clock: TestClock, token_issuer: TokenIssuer,
    ) -> None:  # fmt: skip
        delivery_id = await failed_delivery(engine, mail_settings, sink, clock)
        admin = token(token_issuer, "platform_admin")
        page = (await client.get(f"{API}/deliveries?state=failed", headers=admin)).json()
        [item] = page["items"]
        assert page["next_cursor"] is None
        assert set(item) == {
            "id", "notice_id", "kind", "channel", "state", "attempts", "last_error", "updated_at"
        }  # fmt: skip
        assert (item["id"], item["kind"], item["channel"]) == (
            str(delivery_id), "reservation_approved", "email"
        )  # fmt: skip
        assert (item["state"], item["attempts"]) == ("failed", 2)
        assert "421" in item["last_error"] and EMAIL not in str(page)

        answer = await client.post(f"{API}/deliveries/{delivery_id}/retry", headers=admin)
        assert answer.status_code == 202
        assert (await client.get(f"{API}/deliveries", headers=admin)).json()["items"] == []
        [row] = await deliveries(engine)
        assert (row["state"], row["attempts"]) == ("pending", 0)
        assert (await one_pass(engine, mail_settings, clock)).outcomes == {"sent": 1}
        assert len(sink.to(EMAIL)) == 1
        again = await client.post(f"{API}/deliveries/{delivery_id}/retry", headers=admin)
        assert again.status_code == 409
        assert again.json()["type"].endswith("/delivery-not-failed")

    async def test_pages_follow_the_cursor(
        self, client: httpx.AsyncClient, engine: AsyncEngine, token_issuer: TokenIssuer,
        settings: NotificationsSettings, clock: TestClock,
    ) -> None:  # fmt: skip
        await person(engine, settings, email=EMAIL)
        for _ in range(3):
            await notify(engine, settings, clock())
        admin = token(token_issuer, "platform_admin")
        seen, cursor = [], None
        while True:
            query = "state=pending&limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = (await client.get(f"{API}/deliveries?{query}", headers=admin)).json()
            seen += [item["id"] for item in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert sorted(seen) == sorted(str(r["id"]) for r in await deliveries(engine))


class TestWhoMay:
    async def test_only_a_platform_admin_in_person(
        self, client: httpx.AsyncClient, token_issuer: TokenIssuer
    ) -> None:
        for headers in (
            token(token_issuer, "guardian", sub=GUARDIAN),
            token(token_issuer, "municipality_admin", municipalities=["0010000"]),
            token(token_issuer, "platform_admin", "service", client_id="riga-platform"),
        ):
            listed = await client.get(f"{API}/deliveries", headers=headers)
            retried = await client.post(f"{API}/deliveries/{uuid.uuid4()}/retry", headers=headers)
            assert (listed.status_code, retried.status_code) == (403, 403)
            assert listed.headers["content-type"] == "application/problem+json"
        assert (await client.get(f"{API}/deliveries")).status_code == 401

    async def test_bad_requests_are_4xx_problems(
        self, client: httpx.AsyncClient, token_issuer: TokenIssuer
    ) -> None:
        admin = token(token_issuer, "platform_admin")
        for method, path, status in (
            ("GET", "/deliveries?state=lost", 422),
            ("GET", "/deliveries?limit=0", 422),
            ("GET", "/deliveries?cursor=bm90LWEtY3Vyc29y", 422),
            ("POST", "/deliveries/not-a-uuid/retry", 422),
            ("POST", f"/deliveries/{uuid.uuid4()}/retry", 404),
        ):
            answer = await client.request(method, f"{API}{path}", headers=admin)
            assert answer.status_code == status, (path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
