"""Dependencies of the gateway API: settings, VIIS, rate limits, path objects."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from gateway_service import service
from gateway_service.config import GatewaySettings
from gateway_service.exceptions import RateLimited
from gateway_service.models import ApiClient
from shared_kit.auth import CurrentPrincipal
from shared_kit.deps import ClientAddress, NowDep, SessionDep
from shared_kit.problems import TooManyRequests
from shared_kit.viis import HttpViisDirectory, ViisDirectory, ViisPersonRegister


async def get_settings(request: Request) -> GatewaySettings:  # async: no worker thread
    """The settings the app was built with."""
    return request.app.state.settings


Settings = Annotated[GatewaySettings, Depends(get_settings)]


async def viis_directory(settings: Settings) -> AsyncIterator[ViisDirectory]:
    """A VIIS client for this request."""
    key = settings.viis_api_key.get_secret_value()
    async with HttpViisDirectory(settings.viis_url, key) as directory:
        yield directory


Viis = Annotated[ViisDirectory, Depends(viis_directory)]
ViisPeople = Annotated[ViisPersonRegister, Depends(viis_directory)]


class TokenBucket:
    """In-memory token buckets per key: `rate` tokens a second, at most `burst` saved up.

    Per process: with N replicas a caller gets up to N times the rate, which is fine for
    blunting password-guessing and floods; a shared limit belongs in the ingress. Time is the
    service's clock, as the caller reads it.
    """

    def __init__(self, rate: float, burst: int, max_keys: int = 50_000) -> None:
        self.rate, self.burst, self.max_keys = rate, float(burst), max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, at: dt.datetime) -> float:
        """0 when a token was taken at `at`, else the seconds until one is available."""
        now = at.timestamp()
        tokens, last = self._buckets.get(key, (self.burst, now))
        # A clock set back refills nothing (and takes nothing away).
        tokens = min(self.burst, tokens + max(0.0, now - last) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate
        if len(self._buckets) >= self.max_keys and key not in self._buckets:
            self._forget_full(now)
        self._buckets[key] = (tokens - 1, now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        # Buckets that have refilled carry no information; dropping them bounds memory.
        full_after = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


def check_rate(request: Request, address: str | None, now: dt.datetime) -> None:
    """Raise RateLimited (an OAuth error, 429) when the caller exceeded the token-endpoint rate."""
    bucket: TokenBucket = request.app.state.token_limiter
    wait = bucket.take(address or "unknown", now)
    if wait > 0:
        raise RateLimited("Too many requests; slow down", retry_after_s=max(1, math.ceil(wait)))


def check_login_rate(request: Request, address: ClientAddress, now: NowDep) -> None:
    """Dependency: 429 problem (with Retry-After) when an address starts or ends logins too fast."""
    bucket: TokenBucket = request.app.state.login_limiter
    wait = bucket.take(address or "unknown", now)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(
            "Too many login attempts from this address; wait a moment",
            headers={"Retry-After": str(seconds)},
        )


LoginRate = Depends(check_login_rate)


async def valid_client(
    client_id: str, session: SessionDep, principal: CurrentPrincipal
) -> ApiClient:
    """The API client in the path, if the caller administers it."""
    return await service.get_client(session=session, principal=principal, client_id=client_id)


async def valid_client_for_update(
    client_id: str, session: SessionDep, principal: CurrentPrincipal
) -> ApiClient:
    """The API client in the path, locked for the rest of this transaction."""
    return await service.get_client(
        session=session, principal=principal, client_id=client_id, for_update=True
    )


ValidClient = Annotated[ApiClient, Depends(valid_client)]
LockedClient = Annotated[ApiClient, Depends(valid_client_for_update)]
