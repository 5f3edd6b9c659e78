"""`Server-Timing` on every page: the portal's own time and, within it, the time it waited for
the gateway and the services' APIs (overlapping calls counted once), for browsers' developer
tools and the benchmark."""

from __future__ import annotations

import contextvars
import time

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The (start, end) of each API call of the request being served.
API_CALLS: contextvars.ContextVar[list[tuple[float, float]] | None] = contextvars.ContextVar(
    "api_calls", default=None
)


class TimedTransport(httpx.AsyncBaseTransport):
    """The HTTP client's transport, noting each call's time in the request being served."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            return await self.inner.handle_async_request(request)
        finally:
            if (calls := API_CALLS.get()) is not None:
                calls.append((started, time.perf_counter()))

    async def aclose(self) -> None:
        await self.inner.aclose()


def busy_time(calls: list[tuple[float, float]]) -> float:
    """The seconds covered by the intervals (overlaps once)."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(calls):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


class ServerTiming:
    """ASGI middleware adding `Server-Timing: app;dur=…, api;dur=…;desc="N calls"`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        calls: list[tuple[float, float]] = []
        token = API_CALLS.set(calls)
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                app_ms = (time.perf_counter() - started) * 1000
                api_ms = busy_time(calls) * 1000
                value = f'app;dur={app_ms:.1f}, api;dur={api_ms:.1f};desc="{len(calls)} calls"'
                message.setdefault("headers", []).append((b"server-timing", value.encode()))
            await send(message)

        try:
            await self.app(scope, receive, timed)
        finally:
            API_CALLS.reset(token)
