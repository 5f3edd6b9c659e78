"""The catalogue (`/municipality/<code>/catalogue`): the models devices are procured as, shared
by every municipality. Each item's page shows it whole; what may change after procurement is
changed in a form that saves with If-Match (see `editing.py`). The inventory decides who may
change an item: when it refuses, the page says who keeps the catalogue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis, PersonApis
from portal_service.municipality.catalogue_forms import (
    EDITABLE_LABELS,
    PROCURED_LABELS,
    CatalogueItemForm,
    describe_item,
    item_editing,
    item_values,
)
from portal_service.municipality.common import INVENTORY, Municipality
from portal_service.municipality.console import render_console
from portal_service.municipality.editing import Conflict, form_errors, if_match, save, words
from portal_service.web.forms import FormErrors, form_values, read_form
from portal_service.web.labels import DEVICE_CATEGORIES, SYSTEMS
from portal_service.web.pages import page_router

router = page_router()
SECTION = "/catalogue"
API = f"{INVENTORY}/catalogue-items"
PAGE_SIZE = 50
ItemCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$")]
Cursor = Annotated[str | None, Query(max_length=2000, pattern=r"^[A-Za-z0-9_=-]+$")]


@router.get("/municipality/{code}/catalogue")
async def catalogue(
    request: Request, municipality: Municipality, apis: PersonApis, cursor: Cursor = None
) -> Response:
    """The catalogue's items by code, a page at a time."""
    page = await apis.inventory.get(API, limit=PAGE_SIZE, cursor=cursor)
    return await render_console(
        request, municipality, apis, "municipality/catalogue.html", SECTION,
        items=page.get("items") or [], next_cursor=page.get("next_cursor"), cursor=cursor,
        categories=DEVICE_CATEGORIES, systems=SYSTEMS,
    )  # fmt: skip


@router.get("/municipality/{code}/catalogue/{item_code}")
async def item(
    request: Request,
    municipality: Municipality,
    apis: PersonApis,
    item_code: ItemCode,
    saved: bool = False,
) -> Response:
    """One item, every field; "Change" beside what may change."""
    found = await apis.inventory.get(f"{API}/{item_code}")
    return await render_console(
        request, municipality, apis, "municipality/catalogue_item.html", SECTION,
        item=found, shown=describe_item(found, words(request)), saved=saved,
        procured=PROCURED_LABELS, editable=EDITABLE_LABELS,
    )  # fmt: skip


async def _edit_page(
    request: Request,
    municipality: Municipality,
    apis: Apis,
    found: dict[str, Any],
    values: dict[str, str],
    errors: FormErrors | None = None,
    conflict: Conflict | None = None,
    forbidden: bool = False,
) -> Response:
    return await render_console(
        request, municipality, apis, "municipality/catalogue_edit.html", SECTION, errors,
        item=found, values=values, conflict=conflict, forbidden=forbidden,
    )  # fmt: skip


@router.get("/municipality/{code}/catalogue/{item_code}/edit")
async def edit_form(
    request: Request, municipality: Municipality, apis: PersonApis, item_code: ItemCode
) -> Response:
    """The item's changeable fields in a form."""
    found = await apis.inventory.get(f"{API}/{item_code}")
    return await _edit_page(request, municipality, apis, found, item_values(found))


@router.post("/municipality/{code}/catalogue/{item_code}/edit")
async def edit_save(
    request: Request, municipality: Municipality, apis: PersonApis, item_code: ItemCode
) -> Response:
    """Change the item over the version the form was read at."""
    path = f"{API}/{item_code}"
    found = await apis.inventory.get(path)
    editing = item_editing(words(request))
    form, errors = await read_form(request, CatalogueItemForm)
    values = await form_values(request)
    if form is None:
        errors = form_errors(errors, editing)
        return await _edit_page(request, municipality, apis, found, values, errors)
    refused = await save(
        apis.inventory.patch(path, form.body(), if_match=if_match(form.version)),
        editing,
        yours=form.body(),
        current=lambda: apis.inventory.get(path),
        keep_href=f"{municipality.base}/catalogue/{item_code}",
    )
    if refused is None:
        where = f"{municipality.base}/catalogue/{item_code}?saved=true"
        return RedirectResponse(where, status_code=303)
    if refused.version is not None:
        values |= {"version": str(refused.version)}
    return await _edit_page(
        request, municipality, apis, found, values, refused.errors, refused.conflict,
        refused.forbidden,
    )  # fmt: skip
