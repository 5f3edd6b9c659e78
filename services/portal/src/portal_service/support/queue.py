"""The municipality's ticket queue: open tickets with their SLA deadlines, soonest first."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from portal_service.deps import Person, PersonApis
from portal_service.i18n import N_
from portal_service.support import sla
from portal_service.support.labels import labels
from portal_service.web.api import ServiceApi
from portal_service.web.pages import page_router, render_page

router = page_router()
TICKETS = "/api/v1/tickets"
# The queue's views: their label and the list's filters (`me` is the person's own id).
VIEWS: dict[str, tuple[str, dict[str, Any]]] = {
    "open": (N_("All open"), {"open": "true"}),
    "mine": (N_("Assigned to me"), {"open": "true", "assignee_id": "me"}),
    "unassigned": (N_("Not assigned"), {"open": "true", "unassigned": "true"}),
    "breached": (N_("SLA breached"), {"open": "true", "breached": "true"}),
    "done": (N_("Resolved and closed"), {"open": "false"}),
}
# The queue's orders: the radio's label and what the list says of itself.
SORTS: dict[str, tuple[str, str]] = {
    "sla": (N_("SLA time left"), N_("The nearest SLA deadline first; overdue ones lead.")),
    "oldest": (N_("Oldest first"), N_("The longest waiting first.")),
}
# One page holds what a municipality's open queue usually is, so the SLA order is the queue's.
PAGE_SIZE = 200


@router.get("/support")
async def queue(
    request: Request,
    person: Person,
    apis: PersonApis,
    view: str = "open",
    sort: str = "sla",
    cursor: str | None = None,
) -> Response:
    """The queue: one view of the tickets, sorted by SLA time left or by age."""
    view = view if view in VIEWS else "open"
    sort = sort if sort in SORTS else "sla"
    filters = {k: person.profile.id if v == "me" else v for k, v in VIEWS[view][1].items()}
    page = await apis.tickets.get(TICKETS, limit=PAGE_SIZE, cursor=cursor, **filters)
    now = dt.datetime.now(dt.UTC)
    tickets = [sla.with_times(t) for t in page["items"]]
    rows = [(t, sla.deadline(t, now)) for t in tickets]
    if sort == "sla":
        rows.sort(key=sla.by_deadline)
    schools = await school_names(apis.inventory, {t["institution_number"] for t, _ in rows})
    nxt = page.get("next_cursor")
    return render_page(
        request,
        "support/queue.html",
        rows=rows,
        view=view,
        sort=sort,
        views=VIEWS,
        sorts=SORTS,
        me=person.profile.id,
        schools=schools,
        first_page=f"/support?{urlencode({'view': view, 'sort': sort})}" if cursor else None,
        next_page=f"/support?{urlencode({'view': view, 'sort': sort, 'cursor': nxt})}"
        if nxt
        else None,
        **labels(),
    )


async def school_names(inventory: ServiceApi, numbers: set[str | None]) -> dict[str, str]:
    """The names of the schools the tickets are from (the numbers alone where the inventory
    does not say)."""
    wanted = {n for n in numbers if n}
    if not wanted:
        return {}
    answer = await inventory.request(
        "GET", "/api/v1/inventory/institutions", params={"limit": 200}, allow=(403, 404)
    )
    if answer.status_code != 200:
        return {}
    return {
        i["registration_number"]: i["name"]
        for i in answer.json()["items"]
        if i["registration_number"] in wanted
    }
