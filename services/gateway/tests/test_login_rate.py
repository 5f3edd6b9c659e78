"""Logins are rate-limited per address, with a problem that says when to come back."""

from __future__ import annotations

from gateway_service.config import GatewaySettings
from gateway_service.main import create_app
from shared_kit.testing.client import running_app


async def test_too_many_login_starts_get_429_with_retry_after(settings: GatewaySettings) -> None:
    strict = settings.model_copy(update={"login_rate_per_s": 0.01, "login_rate_burst": 2})
    async with running_app(create_app(strict)) as client:
        params = {"return_to": "https://evil.example/cb", "code_challenge": "a" * 43}
        first = [await client.get("/login/eklase", params=params) for _ in range(2)]
        assert [r.status_code for r in first] == [400, 400]  # counted, then refused on merit
        limited = await client.get("/login/eklase", params=params)
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert int(limited.headers["retry-after"]) >= 1
        callback = await client.get("/login/eklase/callback", params={"state": "x"})
        assert callback.status_code == 429
        page = await client.get("/login")
        assert page.status_code == 200  # the choice page itself is not limited
