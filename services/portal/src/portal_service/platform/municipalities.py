"""The municipalities on the platform (`/platform/municipalities`), for platform
administrators: each with its number of schools and its page (its schools as the inventory
keeps them, "Refresh schools from VIIS"). Adding one is `onboarding.py`'s flow."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.municipality.common import INVENTORY
from portal_service.platform.deliveries import PlatformAdmin
from portal_service.platform.onboarding_flow import FAILED, LIST
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.pages import page_router, render_page
from shared_kit.fields import ATVK_PATTERN

router = page_router()
Code = Annotated[str, Path(pattern=ATVK_PATTERN)]
MAX_PAGES = 40  # of 50 municipalities or schools: more than Latvia has


async def every(apis: PersonApis, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of an inventory list, page after page."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(MAX_PAGES):
        page = await apis.inventory.get(path, limit=50, cursor=cursor, **params)
        items += page.get("items") or []
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return items


# The municipalities on the platform -----------------------------------------------------------


@router.get(LIST)
async def municipalities(request: Request, admin: PlatformAdmin, apis: PersonApis) -> Response:
    """The municipalities on the platform, with their number of schools."""
    rows = await every(apis, f"{INVENTORY}/municipalities")
    return render_page(request, "platform/onboarding/list.html", rows=rows)


@router.get(LIST + "/{code}")
async def municipality(
    request: Request, code: Code, admin: PlatformAdmin, apis: PersonApis, refreshed: str = ""
) -> Response:
    """One municipality: its schools, and refreshing them from VIIS."""
    found = await apis.inventory.get(f"{INVENTORY}/municipalities/{code}")
    schools = await every(apis, f"{INVENTORY}/institutions", municipality=code)
    counts = _counts(refreshed)
    return render_page(
        request,
        "platform/onboarding/show.html",
        municipality=found,
        schools=schools,
        counts=counts,
        failed=refreshed == FAILED,
    )


def _counts(refreshed: str) -> dict[str, int] | None:
    """The counts a refresh left in the address (`created.updated.unchanged.elsewhere`)."""
    parts = refreshed.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None
    return dict(zip(("created", "updated", "unchanged", "elsewhere"), map(int, parts), strict=True))


@router.post(LIST + "/{code}/refresh")
async def refresh(code: Code, admin: PlatformAdmin, apis: PersonApis) -> Response:
    """Import the municipality's schools from VIIS again; back to its page with the counts."""
    path = f"{INVENTORY}/municipalities/{code}/institutions/viis-import"
    try:
        report = await apis.inventory.post(path, idempotency_key=new_form_key())
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise PageNotFound(f"inventory answered {problem.status}") from problem
        raise
    keys = ("created", "updated", "unchanged", "elsewhere")
    counts = ".".join(str(len(report.get(k) or [])) for k in keys)
    return RedirectResponse(f"{LIST}/{code}?{urlencode({'refreshed': counts})}", status_code=303)
