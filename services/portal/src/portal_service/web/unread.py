"""The header's unread-notices count: one cheap call per page of a logged-in person.

The count is asked for as soon as the person's token is known (`start_count`), so it runs
while the page makes its own calls; the page's template is rendered when the response is
sent (`PageResponse`), after the count came back. A notifications service that does not answer
(or refuses) costs the header its number, never the page.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.types import Receive, Scope, Send

from portal_service.exceptions import PortalError
from portal_service.i18n import Lang
from portal_service.web.api import ApiProblem, ServiceApi
from portal_service.web.templates import render

logger = logging.getLogger(__name__)

UNREAD_COUNT = "/api/v1/notifications/me/notices/unread-count"
# The header waits this long for its number at most (a page is never held up for it).
COUNT_TIMEOUT_S = 2.0


def start_count(request: Request, api: ServiceApi) -> None:
    """Ask for the person's unread count now; a GET page's header shows it."""
    if request.method == "GET" and getattr(request.state, "unread", None) is None:
        request.state.unread = asyncio.create_task(unread_count(api))


async def unread_count(api: ServiceApi) -> int | None:
    """How many of the person's notices are unread (None: the service did not say)."""
    try:
        answer = await api.request("GET", UNREAD_COUNT, timeout=httpx.Timeout(COUNT_TIMEOUT_S))
        count = answer.json().get("unread")
    except (PortalError, ApiProblem, ValueError, AttributeError) as exc:
        logger.info("no unread count: %s", type(exc).__name__)
        return None
    return count if isinstance(count, int) and count >= 0 else None


class PageResponse(HTMLResponse):
    """A page rendered as it is sent, once the header's unread count is known."""

    def __init__(
        self,
        lang: Lang,
        name: str,
        context: dict[str, Any],
        status_code: int,
        pending: asyncio.Task[int | None],
    ) -> None:
        self._page = (lang, name, context)
        self._pending = pending
        super().__init__(None, status_code=status_code)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lang, name, context = self._page
        self.body = self.render(render(lang, name, {**context, "unread": await self._pending}))
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.raw_headers.append((b"content-length", str(len(self.body)).encode()))
        await super().__call__(scope, receive, send)


def page_response(
    request: Request, lang: Lang, name: str, context: dict[str, Any], status: int
) -> HTMLResponse:
    """The page, with the unread count in its header when the count was asked for."""
    pending: asyncio.Task[int | None] | None = getattr(request.state, "unread", None)
    if pending is None:
        return HTMLResponse(render(lang, name, context), status_code=status)
    return PageResponse(lang, name, context, status, pending)
