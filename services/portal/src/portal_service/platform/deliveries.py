"""Failed messages (`/platform/deliveries`): the deliveries the notifications service gave up
on, for platform administrators, a page at a time, each with a button to send it again (a POST,
then back to the same page with what came of it). Nobody else finds the page."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Person, PersonApis, SignedIn
from portal_service.exceptions import PageNotFound
from portal_service.notices.labels import API
from portal_service.platform.labels import CHANNELS, OUTCOMES, kind_label
from portal_service.web.api import ApiProblem
from portal_service.web.pages import page_router, render_page

router = page_router()
PATH = "/platform/deliveries"
ADMIN_ROLE = "platform_admin"
PAGE_SIZE = 20
# An opaque cursor of the service's (its pagination's alphabet).
CURSOR = {"max_length": 2000, "pattern": r"^[A-Za-z0-9_-]+$"}
Cursor = Annotated[str | None, Query(**CURSOR)]
PostedCursor = Annotated[str | None, Form(**CURSOR)]
# Where a technical message may break: after punctuation and spaces, inside CamelCase.
BREAK_AT = re.compile(r"(?<=[\s\[\](){},:;'\"/=._-])|(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def platform_admin(person: Person) -> SignedIn:
    """A platform administrator; for anyone else the page does not exist."""
    if ADMIN_ROLE not in person.profile.roles:
        raise PageNotFound("not a platform administrator")
    return person


PlatformAdmin = Annotated[SignedIn, Depends(platform_admin)]


def delivery_view(delivery: dict[str, Any]) -> dict[str, Any]:
    """A delivery as a row of the table: its kind and channel in words."""
    updated = delivery.get("updated_at")
    kind, channel = str(delivery.get("kind") or ""), str(delivery.get("channel") or "")
    return {
        "id": delivery["id"],
        "kind": kind_label(kind),
        "channel": CHANNELS.get(channel, channel),
        "attempts": delivery.get("attempts") or 0,
        "error_parts": breakable(str(delivery.get("last_error") or "")),
        "updated_at": dt.datetime.fromisoformat(updated) if updated else None,
    }


def breakable(text: str, longest: int = 20) -> list[str]:
    """A technical message in pieces a line may break between: after punctuation and spaces,
    between the words of a CamelCase name (`SMTPRecipientsRefused` is wider than a phone's
    column), and within a run longer than `longest`."""
    parts: list[str] = []
    for piece in BREAK_AT.split(text):
        parts.extend(piece[i : i + longest] for i in range(0, len(piece), longest))
    return [p for p in parts if p]


def back_to(cursor: str | None, outcome: str) -> str:
    """The page the retry came from, saying what came of it."""
    query = {"cursor": cursor} if cursor else {}
    return f"{PATH}?{urlencode({**query, 'outcome': outcome})}"


@router.get(PATH)
async def deliveries(
    request: Request,
    admin: PlatformAdmin,
    apis: PersonApis,
    cursor: Cursor = None,
    outcome: str | None = None,
) -> Response:
    """The failed deliveries, the longest failed first."""
    page = await apis.notifications.get(
        f"{API}/deliveries", state="failed", limit=PAGE_SIZE, cursor=cursor
    )
    return render_page(
        request,
        "platform/deliveries.html",
        rows=[delivery_view(d) for d in page.get("items") or []],
        cursor=cursor,
        next_cursor=page.get("next_cursor"),
        outcome=outcome if outcome in OUTCOMES else None,
        outcomes=OUTCOMES,
    )


@router.post(PATH + "/{delivery_id}/retry")
async def retry(
    delivery_id: uuid.UUID, admin: PlatformAdmin, apis: PersonApis, cursor: PostedCursor = None
) -> Response:
    """Send a failed delivery again; one that is no longer failed is said so on the page."""
    try:
        await apis.notifications.post(f"{API}/deliveries/{delivery_id}/retry")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise PageNotFound(f"delivery {problem.status}") from problem
        if problem.status != 409:
            raise
        return RedirectResponse(back_to(cursor, "not-failed"), status_code=303)
    return RedirectResponse(back_to(cursor, "retried"), status_code=303)
