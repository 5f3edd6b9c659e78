"""The console's dashboards: the municipality's overview (`/municipality/<code>`) and one
school's (`…/schools/<number>`), from the statistics service's views and time series, each
chart also a table and a CSV file; which municipality, for someone with several."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis, Person, PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.i18n import RIGA
from portal_service.municipality.common import (
    SECTIONS,
    STATISTICS,
    Municipality,
    MunicipalityPath,
    municipalities_of,
    municipality_name,
)
from portal_service.schools.common import together
from portal_service.web.figures import (
    CHART_KEYS,
    IDLE_CHOICES,
    IDLE_DAYS,
    charts,
    csv_response,
    dashboard,
    optional,
    series_range,
)
from portal_service.web.pages import lang_of, page_router, render_page
from shared_kit.fields import REG_NUMBER_PATTERN

router = page_router()
BASE = "/municipality/{code}"
IdleDays = Annotated[int, Query(ge=1, le=3650)]
Cursor = Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_=-]+$")]
ChartKey = Annotated[str, Path(pattern="^(" + "|".join(CHART_KEYS) + ")$")]
IDLE_PAGE = 20
# How far warranty is "ending soon": the device search lists those ending before this.
WARRANTY_SOON = dt.timedelta(days=90)


def today() -> dt.date:
    """Today in Latvia."""
    return dt.datetime.now(RIGA).date()


def school_of(view: dict[str, Any], municipality: MunicipalityPath) -> dict[str, Any]:
    """The school a view is of, when it is one of the municipality's (else not found)."""
    if view.get("municipality_code") != municipality.code:
        raise PageNotFound("a school of another municipality")
    return {"number": view["code"], "name": view.get("name") or view["code"]}


Number = Annotated[str, Path(pattern=REG_NUMBER_PATTERN)]


@router.get("/municipality")
async def choose(request: Request, person: Person, apis: PersonApis) -> Response:
    """The municipalities the person administers; straight to the one when there is one."""
    codes = municipalities_of(person)
    if not codes:
        raise PageNotFound("not a municipality administrator")
    if len(codes) == 1:
        return RedirectResponse(f"/municipality/{codes[0]}", status_code=303)
    names = await together(*(municipality_name(apis, c) for c in codes))
    chosen = list(zip(codes, names, strict=True))
    return render_page(request, "municipality/dashboard_choose.html", municipalities=chosen)


async def area_figures(
    apis: Apis, area: str, idle_days: int, cursors: tuple[str | None, str | None]
) -> list[Any]:
    """An area's view, its time series, and its idle and never-lent devices (None while the
    statistics service does not list them), fetched at the same time."""
    lists = [
        optional(
            apis.statistics.get(
                f"{area}/idle-devices", idle_days=idle_days, kind=kind, limit=IDLE_PAGE, cursor=c
            )
        )
        for kind, c in zip(("idle", "never_lent"), cursors, strict=True)
    ]
    return await together(
        apis.statistics.get(area, idle_days=idle_days),
        apis.statistics.get(f"{area}/timeseries", **series_range(today())),
        *lists,
    )


def list_links(request: Request, name: str, page: Any) -> dict[str, str]:
    """A device list's next page and first page (the other list keeps its place)."""
    query = dict(request.query_params)
    links: dict[str, str] = {}
    if page and page.get("next_cursor"):
        links["next"] = "?" + urlencode({**query, name: page["next_cursor"]})
    if name in query:
        links["first"] = "?" + urlencode({k: v for k, v in query.items() if k != name})
    return links


def idle_context(request: Request, idle_days: int, idle: Any, never: Any) -> dict[str, Any]:
    """The idle and never-lent lists' context: the threshold, its choices, their pages."""
    return {
        "idle_days": idle_days,
        "idle_choices": sorted({*IDLE_CHOICES, idle_days}),
        "idle": idle,
        "never_lent": never,
        "idle_links": list_links(request, "idle_cursor", idle),
        "never_links": list_links(request, "never_cursor", never),
        "warranty_before": (today() + WARRANTY_SOON).isoformat(),
    }


@router.get(BASE)
async def overview(
    request: Request,
    municipality: Municipality,
    apis: PersonApis,
    idle_days: IdleDays = IDLE_DAYS,
    idle_cursor: Cursor = None,
    never_cursor: Cursor = None,
) -> Response:
    """The municipality's dashboard: its devices, coverage, activity, tickets, usage, schools."""
    area = f"{STATISTICS}/municipalities/{municipality.code}"
    name, (view, series, idle, never) = await together(
        municipality_name(apis, municipality.code),
        area_figures(apis, area, idle_days, (idle_cursor, never_cursor)),
    )
    schools = {c["code"]: c.get("name") or c["code"] for c in view.get("children") or []}
    return render_page(
        request,
        "municipality/dashboard.html",
        municipality=municipality,
        municipality_name=name,
        sections=SECTIONS,
        section="",
        csv_base=f"{municipality.base}/charts",
        school_names=schools,
        **dashboard(view, series, lang_of(request)),
        **idle_context(request, idle_days, idle, never),
    )


@router.get(BASE + "/schools/{number}")
async def school(
    request: Request,
    municipality: Municipality,
    number: Number,
    apis: PersonApis,
    idle_days: IdleDays = IDLE_DAYS,
    idle_cursor: Cursor = None,
    never_cursor: Cursor = None,
) -> Response:
    """One school's dashboard: the same figures for the school alone."""
    area = f"{STATISTICS}/institutions/{number}"
    name, (view, series, idle, never) = await together(
        municipality_name(apis, municipality.code),
        area_figures(apis, area, idle_days, (idle_cursor, never_cursor)),
    )
    school = school_of(view, municipality)
    return render_page(
        request,
        "municipality/dashboard_school.html",
        municipality=municipality,
        municipality_name=name,
        sections=SECTIONS,
        section="",
        school=school,
        csv_base=f"{municipality.base}/schools/{school['number']}/charts",
        school_names={school["number"]: school["name"]},
        **dashboard(view, series, lang_of(request)),
        **idle_context(request, idle_days, idle, never),
    )


async def chart_csv(
    request: Request, apis: Apis, area: str, key: str, municipality: MunicipalityPath
) -> Response:
    """One chart's numbers as CSV (the view and series read again, as the page did)."""
    view, series = await together(
        apis.statistics.get(area),
        apis.statistics.get(f"{area}/timeseries", **series_range(today())),
    )
    if view["level"] == "institution":
        school_of(view, municipality)
    name = f"{view['level']}-{view.get('code') or municipality.code}"
    return csv_response(charts(view, series, lang_of(request))[key], name)


@router.get(BASE + "/charts/{key}.csv")
async def overview_csv(
    request: Request, municipality: Municipality, apis: PersonApis, key: ChartKey
) -> Response:
    """A chart of the municipality's dashboard as CSV."""
    area = f"{STATISTICS}/municipalities/{municipality.code}"
    return await chart_csv(request, apis, area, key, municipality)


@router.get(BASE + "/schools/{number}/charts/{key}.csv")
async def school_csv(
    request: Request, municipality: Municipality, number: Number, apis: PersonApis, key: ChartKey
) -> Response:
    """A chart of a school's dashboard as CSV."""
    area = f"{STATISTICS}/institutions/{number}"
    return await chart_csv(request, apis, area, key, municipality)
