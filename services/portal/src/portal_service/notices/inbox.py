"""The person's notifications (`/notifications`): newest first, a page at a time, unread ones
marked; mark one or all as read (POST forms, then back to the same page)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Person, PersonApis, Settings
from portal_service.exceptions import PageNotFound
from portal_service.notices.labels import API
from portal_service.web.api import ApiProblem
from portal_service.web.pages import page_router, render_page

router = page_router()
PAGE_SIZE = 20
# An opaque cursor of the service's (its pagination's alphabet).
Cursor = Annotated[str | None, Query(max_length=2000, pattern=r"^[A-Za-z0-9_-]+$")]
PostedCursor = Annotated[str | None, Form(max_length=2000, pattern=r"^[A-Za-z0-9_-]+$")]


def local_link(link: Any, public_url: str) -> str | None:
    """A notice's link as a path of the portal (a link anywhere else is not shown)."""
    if not isinstance(link, str) or not link:
        return None
    own = public_url.rstrip("/")
    if link.startswith(own + "/"):
        link = link[len(own) :]
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not link.startswith("/") or link.startswith("//"):
        return None
    return link


def notice_view(notice: dict[str, Any], public_url: str) -> dict[str, Any]:
    """A notice as the page shows it."""
    created = notice.get("created_at")
    return {
        "id": notice["id"],
        "title": notice.get("title") or "",
        "body": notice.get("body") or "",
        "link": local_link(notice.get("link"), public_url),
        "created_at": dt.datetime.fromisoformat(created) if created else None,
        "unread": notice.get("read_at") is None,
    }


def _back(cursor: str | None) -> str:
    return "/notifications" + (f"?{urlencode({'cursor': cursor})}" if cursor else "")


@router.get("/notifications")
async def inbox(
    request: Request, person: Person, apis: PersonApis, settings: Settings, cursor: Cursor = None
) -> Response:
    """The person's notices, newest first; "older notifications" pages on."""
    page = await apis.notifications.get(f"{API}/me/notices", limit=PAGE_SIZE, cursor=cursor)
    notices = [notice_view(n, settings.public_url) for n in page.get("items") or []]
    return render_page(
        request,
        "notices/inbox.html",
        notices=notices,
        cursor=cursor,
        next_cursor=page.get("next_cursor"),
        any_unread=any(n["unread"] for n in notices),
    )


@router.post("/notifications/read-all")
async def read_all(apis: PersonApis, cursor: PostedCursor = None) -> Response:
    """Mark every notice of the person's as read."""
    await apis.notifications.post(f"{API}/me/notices/read-all")
    return RedirectResponse(_back(cursor), status_code=303)


@router.post("/notifications/{notice_id}/read")
async def read_one(
    notice_id: uuid.UUID, person: Person, apis: PersonApis, cursor: PostedCursor = None
) -> Response:
    """Mark one notice as read; another person's notice is not found."""
    try:
        await apis.notifications.post(f"{API}/me/notices/{notice_id}/read")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise PageNotFound(f"notice {problem.status}") from problem
        raise
    return RedirectResponse(_back(cursor) + f"#notice-{notice_id}", status_code=303)
