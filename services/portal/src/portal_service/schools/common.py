"""What every school page shares: the school from the address (one of the person's own), its
name, the labels of the services' codes, a list's next page, and rendering."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse

from portal_service.deps import Person, PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.schools import labels
from portal_service.web.api import ApiProblem, ServiceApi
from portal_service.web.pages import render_page
from portal_service.web.tokens import claim_list
from shared_kit.fields import REG_NUMBER_PATTERN

ADMIN_ROLE = "institution_admin"
INVENTORY = "/api/v1/inventory"
RESERVATIONS = "/api/v1/reservations"
CONTRACTS = "/api/v1/contracts"
TICKETS = "/api/v1/tickets"
# Rows per page of a list: a phone screen or two, and quick to fetch.
PAGE_SIZE = 20

T = TypeVar("T")


def schools_of(person: Person) -> list[str]:
    """The schools the person administers (their token's institutions)."""
    if ADMIN_ROLE not in person.profile.roles:
        return []
    return claim_list(person.access_token, "institutions")


@dataclass(frozen=True)
class SchoolPath:
    """The school an address names, checked to be one the person administers."""

    number: str
    base: str  # the school's pages start here: /schools/<number>


async def school_path(
    number: Annotated[str, Path(pattern=REG_NUMBER_PATTERN)], person: Person
) -> SchoolPath:
    """Another school's (or a non-admin's) address is simply not there."""
    if number not in schools_of(person):
        raise PageNotFound("not one of the person's schools")
    return SchoolPath(number, f"/schools/{number}")


School = Annotated[SchoolPath, Depends(school_path)]


# School names, kept a few minutes: every school page shows its school's name, and a name is
# public reference data (who may see a school's pages is checked from the token, every time).
NAME_TTL_S = 300.0
_names: dict[str, tuple[float, str]] = {}


async def school_name(apis: PersonApis, number: str) -> str:
    """The school's name from the inventory (its number while the inventory does not know it)."""
    kept = _names.get(number)
    if kept is not None and kept[0] > time.monotonic():
        return kept[1]
    try:
        body = await apis.inventory.get(f"{INVENTORY}/institutions/{number}")
    except PageNotFound:
        return number
    name = str(body.get("name") or number)
    if len(_names) > 10_000:  # bounded: a municipality has hundreds of schools, not more
        _names.clear()
    _names[number] = (time.monotonic() + NAME_TTL_S, name)
    return name


async def together(*calls: Awaitable[Any]) -> list[Any]:
    """The answers of several API calls made at the same time."""
    return list(await asyncio.gather(*calls))


def not_found_on_refusal(problem: ApiProblem) -> None:
    """A form about a resource that is not the person's (403/404) is "not found"."""
    if problem.status in (403, 404):
        raise PageNotFound(f"refused: {problem.type}")


def pages(request: Request, cursor: str | None) -> dict[str, str]:
    """A cursor list's links: the next page, and back to the first (cursors go one way)."""
    here = dict(request.query_params)
    links: dict[str, str] = {}
    if cursor:
        links["next"] = f"{request.url.path}?{urlencode({**here, 'cursor': cursor})}"
    if "cursor" in here:
        first = {k: v for k, v in here.items() if k != "cursor"}
        links["first"] = request.url.path + (f"?{urlencode(first)}" if first else "")
    return links


async def catalogue_names(api: ServiceApi) -> dict[str, str]:
    """Catalogue item id → name (the catalogue is short; one call)."""
    body = await api.get(f"{INVENTORY}/catalogue-items", limit=200)
    return {str(item["id"]): str(item["name"]) for item in body.get("items", [])}


def render_school(
    request: Request, name: str, school: SchoolPath, school_title: str, **context: Any
) -> HTMLResponse:
    """A school page: the school, the labels of the services' codes, the page's own context."""
    return render_page(
        request,
        f"schools/{name}",
        school=school,
        school_name=school_title,
        labels=labels.LABELS,
        tag_classes=labels.tag_classes,
        **context,
    )
