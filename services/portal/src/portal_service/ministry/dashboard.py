"""The national dashboard (`/ministry`): every municipality side by side, sortable, each
drilling down to its schools (`/ministry/municipalities/<code>`), and how fresh the VIIS feed's
snapshots are. For ministry analysts; aggregates only, as the statistics API gives them."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import Depends, Path, Request
from fastapi.responses import Response

from portal_service.deps import Person, PersonApis, SignedIn
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_, RIGA
from portal_service.municipality.common import INVENTORY, municipality_name
from portal_service.schools.common import together
from portal_service.web.figures import (
    CHART_KEYS,
    IDLE_DAYS,
    STATISTICS,
    charts,
    csv_response,
    dashboard,
    optional,
    series_range,
)
from portal_service.web.pages import lang_of, page_router, render_page
from shared_kit.fields import ATVK_PATTERN

router = page_router()
ANALYST_ROLE = "ministry_analyst"
NATIONAL = f"{STATISTICS}/national"
ChartKey = Annotated[str, Path(pattern="^(" + "|".join(CHART_KEYS) + ")$")]
Code = Annotated[str, Path(pattern=ATVK_PATTERN)]
NAMES_LIMIT = 100  # Latvia has 43 municipalities: their names in one page


def band_of(area: dict[str, Any], name: str = "1-3") -> dict[str, Any]:
    """An area's coverage of one grade band ({} when the view has no such band)."""
    return next((b for b in area.get("coverage") or [] if b.get("band") == name), {})


def collation_key(name: str) -> tuple[str, str]:
    """A name's place in an alphabetical list: Ā beside A (Latvian order, near enough), then
    the exact name."""
    base = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in base if not unicodedata.combining(c)), name


# The table's sortable columns: (key, heading, the row's value, whether it needs usage).
COLUMNS: list[tuple[str, str, Any, bool]] = [
    ("name", N_("Municipality"), lambda a: collation_key(a.get("name") or a["code"]), False),
    ("devices", N_("Devices in service"), lambda a: a.get("devices_in_service"), False),
    ("pupils", N_("Pupils"), lambda a: a.get("pupils"), False),
    (
        "ratio",
        N_("Pupils per device, grades 1-3"),
        lambda a: band_of(a).get("pupils_per_device"),
        False,
    ),
    ("needed", N_("Devices needed, grades 1-3"), lambda a: band_of(a).get("devices_needed"), False),
    ("loans", N_("On loan"), lambda a: a.get("active_loans"), False),
    ("utilisation", N_("Utilisation"), lambda a: a.get("utilisation"), True),
    ("idle", N_("Idle"), lambda a: a.get("idle"), True),
    ("tickets", N_("Open problem reports"), lambda a: a.get("tickets_open"), True),
    ("breaches", N_("SLA breaches"), lambda a: a.get("sla_breaches"), True),
]
SORTS = {key: value for key, _label, value, _usage in COLUMNS}
Sort = Literal["name", "devices", "pupils", "ratio", "needed", "loans", "utilisation", "idle",
               "tickets", "breaches"]  # fmt: skip
Order = Literal["ascending", "descending"]


def analyst(person: Person) -> SignedIn:
    """A ministry analyst; for anyone else the national pages do not exist."""
    if ANALYST_ROLE not in person.profile.roles:
        raise PageNotFound("not a ministry analyst")
    return person


Analyst = Annotated[SignedIn, Depends(analyst)]


def today() -> dt.date:
    """Today in Latvia."""
    return dt.datetime.now(RIGA).date()


def sorted_areas(areas: list[dict[str, Any]], sort: str, order: str) -> list[dict[str, Any]]:
    """The municipalities in the chosen order; a figure the API did not give goes last."""
    value = SORTS[sort]
    known = [a for a in areas if value(a) is not None]
    unknown = [a for a in areas if value(a) is None]
    known.sort(key=value, reverse=order == "descending")
    return known + sorted(unknown, key=SORTS["name"])


def heading_links(sort: str, order: str, with_usage: bool) -> list[dict[str, Any]]:
    """Each column's heading: a link that sorts by it (again: the other way), its aria-sort."""
    heads = []
    for key, label, _value, needs_usage in COLUMNS:
        if needs_usage and not with_usage:
            continue
        current = key == sort
        flip = "ascending" if current and order == "descending" else "descending"
        next_order = flip if current or key != "name" else "ascending"
        href = "/ministry?" + urlencode({"sort": key, "order": next_order})
        heads.append({"key": key, "label": label, "href": href, "sort": order if current else None})
    return heads


def freshness(series: dict[str, Any]) -> dict[str, Any] | None:
    """The latest daily snapshot (the VIIS feed's records of that day): its day, whether it is
    still provisional, and how many days old it is."""
    points = series.get("points") or []
    if not points:
        return None
    latest = points[-1]
    day = dt.date.fromisoformat(latest["date"])
    return {
        "date": day,
        "provisional": bool(latest.get("provisional")),
        "age_days": (today() - day).days,
        "institutions": latest.get("institutions"),
    }


@router.get("/ministry")
async def national(
    request: Request,
    person: Analyst,
    apis: PersonApis,
    sort: Sort = "name",
    order: Order = "ascending",
) -> Response:
    """Every municipality side by side, sorted as asked, and the feed's freshness."""
    view, series, known = await together(
        apis.statistics.get(NATIONAL, idle_days=IDLE_DAYS),
        apis.statistics.get(f"{NATIONAL}/timeseries", **series_range(today())),
        optional(apis.inventory.get(f"{INVENTORY}/municipalities", limit=NAMES_LIMIT)),
    )
    names = {m["code"]: m["name"] for m in (known or {}).get("items") or []}
    areas = [
        {**a, "name": a.get("name") or names.get(a["code"])} for a in view.get("children") or []
    ]
    with_usage = bool(areas) and "utilisation" in areas[0]
    return render_page(
        request,
        "ministry/national.html",
        view=view,
        figures=view["figures"],
        as_of=dt.datetime.fromisoformat(view["as_of"]),
        areas=sorted_areas(areas, sort, order),
        heads=heading_links(sort, order, with_usage),
        with_usage=with_usage,
        feed=freshness(series),
    )


@router.get("/ministry/municipalities/{code}")
async def municipality(request: Request, person: Analyst, apis: PersonApis, code: Code) -> Response:
    """One municipality's figures and its schools' (aggregates only)."""
    area = f"{STATISTICS}/municipalities/{code}"
    view, series, name = await together(
        apis.statistics.get(area, idle_days=IDLE_DAYS),
        apis.statistics.get(f"{area}/timeseries", **series_range(today())),
        municipality_name(apis, code),
    )
    return render_page(
        request,
        "ministry/municipality.html",
        code=code,
        area_name=view.get("name") or name,
        csv_base=f"/ministry/municipalities/{code}/charts",
        **dashboard(view, series, lang_of(request)),
    )


@router.get("/ministry/municipalities/{code}/charts/{key}.csv")
async def municipality_csv(
    request: Request, person: Analyst, apis: PersonApis, code: Code, key: ChartKey
) -> Response:
    """A chart of a municipality's figures as CSV."""
    area = f"{STATISTICS}/municipalities/{code}"
    view, series = await together(
        apis.statistics.get(area),
        apis.statistics.get(f"{area}/timeseries", **series_range(today())),
    )
    return csv_response(charts(view, series, lang_of(request))[key], f"municipality-{code}")
