"""The console's device search (`/municipality/<code>/devices`): every filter the inventory
offers as a GET form (kept in the address), a table sortable by its column headings, pages
both ways, the count, and the whole result as CSV (streamed from the inventory)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from portal_service.deps import PersonApis
from portal_service.municipality import device_labels as labels
from portal_service.municipality import device_page
from portal_service.municipality.common import (
    INVENTORY,
    PAGE_SIZE,
    Municipality,
    municipality_name,
)
from portal_service.municipality.device_page import catalogue_of, institutions_of
from portal_service.schools.common import together
from portal_service.web.api import ApiProblem, ServiceApi
from portal_service.web.pages import page_router, render_page
from shared_kit.downloads import NOSNIFF, content_disposition

router = page_router()
router.include_router(device_page.router)

CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,2000}$")
NUMBER = re.compile(r"^[0-9]{5,20}$")
SORTS = frozenset(labels.SORT_CHOICES)
FILTERS: tuple[str, ...] = ("school", "statuses", "category", "os", "catalogue_item")
FILTERS += ("funding_source", "warranty", "q")
OS_CHOICES = {**labels.SYSTEMS, "none": "none"}


@dataclass(frozen=True)
class DeviceSearch:
    """What the person searches for, as the page's address keeps it (unknown values dropped)."""

    school: str = ""
    statuses: tuple[str, ...] = ()
    category: str = ""
    os: str = ""
    catalogue_item: str = ""
    funding_source: str = ""
    warranty: str = ""
    q: str = ""
    sort: str = "asset_tag"
    cursor: str = ""
    before: str = ""

    @classmethod
    def of(cls, request: Request) -> DeviceSearch:
        """The search in the request's query."""
        query = request.query_params

        def one(name: str, allowed: Any) -> str:
            value = query.get(name, "")
            return value if value in allowed else ""

        school = query.get("school", "")
        q = " ".join(query.get("q", "").split())[:100]
        sort = query.get("sort", "asset_tag")
        cursor, before = query.get("cursor", ""), query.get("before", "")
        return cls(
            school=school if NUMBER.fullmatch(school) else "",
            statuses=tuple(s for s in labels.DEVICE_STATUSES if s in query.getlist("status")),
            category=one("category", labels.DEVICE_CATEGORIES),
            os=one("os", OS_CHOICES),
            catalogue_item=query.get("catalogue_item", "")[:60],
            funding_source=one("funding_source", labels.FUNDING_SOURCES),
            warranty=one("warranty", labels.WARRANTY_WINDOWS),
            q=q,
            sort=sort if sort in SORTS else "asset_tag",
            cursor=cursor if CURSOR.fullmatch(cursor) else "",
            before=before if CURSOR.fullmatch(before) and not cursor else "",
        )

    def api_params(self, code: str, today: dt.date) -> dict[str, Any]:
        """The inventory search's query parameters (without the page)."""
        months = labels.WARRANTY_WINDOWS[self.warranty][0] if self.warranty else None
        return {
            "municipality": code,
            "institution": self.school or None,
            "status": list(self.statuses) or None,
            "category": self.category or None,
            "os": self.os or None,
            "catalogue_item": self.catalogue_item or None,
            "funding_source": self.funding_source or None,
            "warranty_before": add_months(today, months).isoformat()
            if months is not None
            else None,
            "q": self.q or None,
            "sort": self.sort,
        }

    def query(self, **changes: Any) -> str:
        """The address's query of this search with some parts changed (the page's by default
        left out: a new order or filter starts at the first page)."""
        changed = replace(self, **{"cursor": "", "before": "", **changes})
        pairs: list[tuple[str, str]] = [("status", s) for s in changed.statuses]
        for name in ("school", "category", "os", "catalogue_item", "funding_source", "warranty"):
            if value := getattr(changed, name):
                pairs.append((name, value))
        if changed.q:
            pairs.append(("q", changed.q))
        if changed.sort != "asset_tag":
            pairs.append(("sort", changed.sort))
        pairs += [(n, getattr(changed, n)) for n in ("cursor", "before") if getattr(changed, n)]
        return urlencode(pairs)

    def filtered(self) -> bool:
        """Whether any filter is set."""
        return any(getattr(self, n) for n in FILTERS)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - every month has 28 days


def sort_heading(search: DeviceSearch, base: str, column: str, text: str) -> dict[str, Any]:
    """A sortable column's heading: a link that sorts by it (the other way when it is the
    order now), with `aria-sort` on the column the table is sorted by."""
    now = search.sort.lstrip("-") == column
    descending = search.sort.startswith("-")
    link_sort = f"-{column}" if now and not descending else column
    href = f"{base}/devices?{search.query(sort=link_sort)}"
    heading: dict[str, Any] = {"text": text, "href": href, "current": now}
    if now:
        heading["aria_sort"] = "descending" if descending else "ascending"
    heading["next"] = "descending" if link_sort.startswith("-") else "ascending"
    return heading


async def _search_page(
    api: ServiceApi, params: dict[str, Any], search: DeviceSearch
) -> dict[str, Any]:
    page = {"cursor": search.cursor or None, "before": search.before or None}
    try:
        return dict(await api.get(f"{INVENTORY}/devices", limit=PAGE_SIZE, **params, **page))
    except ApiProblem as problem:  # a page address from an old link: start at the first
        if problem.status != 422:
            raise
        return dict(await api.get(f"{INVENTORY}/devices", limit=PAGE_SIZE, **params))


def row_view(device: dict[str, Any]) -> dict[str, Any]:
    """A device as a row of the table (its warranty end as a date)."""
    ends = device.get("warranty_ends_on")
    return {**device, "warranty_ends_on": dt.date.fromisoformat(ends) if ends else None}


@router.get("/municipality/{code}/devices")
async def devices(request: Request, municipality: Municipality, apis: PersonApis) -> Response:
    """Search the municipality's devices."""
    search = DeviceSearch.of(request)
    params = search.api_params(municipality.code, dt.date.today())
    name, schools, catalogue, count, page = await together(
        municipality_name(apis, municipality.code),
        institutions_of(apis.inventory, municipality.code),
        catalogue_of(apis.inventory),
        apis.inventory.get(f"{INVENTORY}/devices/count", **params),
        _search_page(apis.inventory, params, search),
    )
    base = municipality.base
    links = {
        "next": f"{base}/devices?{search.query(cursor=page['next_cursor'])}"
        if page.get("next_cursor")
        else None,
        "previous": f"{base}/devices?{search.query(before=page['prev_cursor'])}"
        if page.get("prev_cursor")
        else None,
    }
    return render_page(
        request,
        "municipality/devices.html",
        municipality=municipality,
        municipality_name=name,
        search=search,
        schools=schools,
        school_choices=[(s["registration_number"], s["name"]) for s in schools],
        school_names={str(s["id"]): s["name"] for s in schools},
        model_choices=[(i["code"], i["name"]) for i in catalogue],
        item_names={str(i["id"]): i["name"] for i in catalogue},
        warranty_choices=[(v, text) for v, (_, text) in labels.WARRANTY_WINDOWS.items()],
        count=int(count.get("count") or 0),
        rows=[row_view(d) for d in page.get("items") or []],
        links=links,
        headings=[sort_heading(search, base, c, t) for c, t in labels.SORT_COLUMNS.items()],
        csv_href=f"{base}/devices.csv?{search.query()}",
        labels=labels,
    )


@router.get("/municipality/{code}/devices.csv")
async def devices_csv(request: Request, municipality: Municipality, apis: PersonApis) -> Response:
    """The whole search as CSV, streamed as the inventory sends it."""
    search = DeviceSearch.of(request)
    params = search.api_params(municipality.code, dt.date.today())
    answer = await apis.inventory.stream(
        f"{INVENTORY}/devices", accept="text/csv", format="csv", **params
    )
    headers = {
        "Content-Disposition": content_disposition(f"devices-{municipality.code}.csv"),
        **NOSNIFF,
    }
    return StreamingResponse(
        answer.aiter_bytes(),
        media_type=answer.headers.get("content-type", "text/csv; charset=utf-8"),
        headers=headers,
        background=BackgroundTask(answer.aclose),
    )
