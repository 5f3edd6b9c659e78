"""The lenders (`/municipality/<code>/lenders`): the legal details the loan agreements print for
the municipality and its schools; viewed, changed (If-Match, see `editing.py`) and registered
through the contracts service. A changed lender gives its unsigned agreements a new version."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis, PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.municipality.common import CONTRACTS, Municipality
from portal_service.municipality.console import render_console
from portal_service.municipality.editing import Conflict, form_errors, if_match, save
from portal_service.municipality.lender_forms import (
    DUPLICATE,
    KINDS,
    LENDER_EDITING,
    LENDER_LABELS,
    LENDER_MESSAGES,
    LenderForm,
    NewLenderForm,
    describe_lender,
    lender_values,
)
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import (
    FormErrors,
    form_values,
    posted_form_key,
    problem_errors,
    read_form,
)
from portal_service.web.pages import page_router

router = page_router()
SECTION = "/lenders"
API = f"{CONTRACTS}/lenders"
Kind = Literal["municipality", "institution"]
Code = Path(pattern=r"^[0-9]{7,10}$")
MAX_PAGES = 20  # 50 lenders a page: far more than a municipality's schools


async def lenders_of(apis: Apis, municipality_code: str) -> list[dict[str, Any]]:
    """The municipality's lenders, the municipality first, then its schools by number."""
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(MAX_PAGES):
        page = await apis.contracts.get(API, limit=50, cursor=cursor)
        found += [x for x in page.get("items") or [] if x["municipality_code"] == municipality_code]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return sorted(found, key=lambda x: (x["kind"] != "municipality", x["code"]))


async def lender_of(apis: Apis, municipality: Municipality, kind: str, code: str) -> dict[str, Any]:
    """One lender of the municipality; another municipality's is not found."""
    lender: dict[str, Any] = await apis.contracts.get(f"{API}/{kind}/{code}")
    if lender.get("municipality_code") != municipality.code:
        raise PageNotFound("another municipality's lender")
    return lender


@router.get("/municipality/{code}/lenders")
async def lenders(
    request: Request, municipality: Municipality, apis: PersonApis, saved: str | None = None
) -> Response:
    """The municipality's lenders, each linked to its details."""
    rows = await lenders_of(apis, municipality.code)
    return await render_console(
        request, municipality, apis, "municipality/lenders.html", SECTION,
        lenders=rows, kinds=KINDS, saved=saved,
        has_own=any(x["kind"] == "municipality" for x in rows),
    )  # fmt: skip


@router.get("/municipality/{code}/lenders/{kind}/{lender_code}")
async def lender(
    request: Request,
    municipality: Municipality,
    apis: PersonApis,
    kind: Kind,
    lender_code: str = Code,
    saved: bool = False,
) -> Response:
    """One lender's details, each with a "Change" link."""
    found = await lender_of(apis, municipality, kind, lender_code)
    return await render_console(
        request, municipality, apis, "municipality/lender.html", SECTION,
        lender=found, shown=describe_lender(found), labels=LENDER_LABELS, kinds=KINDS,
        saved=saved, updated=dt.datetime.fromisoformat(found["updated_at"]),
    )  # fmt: skip


async def _edit_page(
    request: Request,
    municipality: Municipality,
    apis: Apis,
    found: dict[str, Any],
    values: dict[str, str],
    errors: FormErrors | None = None,
    conflict: Conflict | None = None,
) -> Response:
    return await render_console(
        request, municipality, apis, "municipality/lender_edit.html", SECTION, errors,
        lender=found, values=values, conflict=conflict, kinds=KINDS,
    )  # fmt: skip


@router.get("/municipality/{code}/lenders/{kind}/{lender_code}/edit")
async def edit_form(
    request: Request,
    municipality: Municipality,
    apis: PersonApis,
    kind: Kind,
    lender_code: str = Code,
) -> Response:
    """The lender's details in a form."""
    found = await lender_of(apis, municipality, kind, lender_code)
    return await _edit_page(request, municipality, apis, found, lender_values(found))


@router.post("/municipality/{code}/lenders/{kind}/{lender_code}/edit")
async def edit_save(
    request: Request,
    municipality: Municipality,
    apis: PersonApis,
    kind: Kind,
    lender_code: str = Code,
) -> Response:
    """Change the details over the version the form was read at."""
    found = await lender_of(apis, municipality, kind, lender_code)
    form, errors = await read_form(request, LenderForm)
    values = await form_values(request)
    if form is None:
        errors = form_errors(errors, LENDER_EDITING)
        return await _edit_page(request, municipality, apis, found, values, errors)
    path = f"{API}/{kind}/{lender_code}"
    refused = await save(
        apis.contracts.patch(path, form.body(), if_match=if_match(form.version)),
        LENDER_EDITING,
        yours=form.body(),
        current=lambda: lender_of(apis, municipality, kind, lender_code),
        keep_href=f"{municipality.base}/lenders/{kind}/{lender_code}",
    )
    if refused is None:
        where = f"{municipality.base}/lenders/{kind}/{lender_code}?saved=true"
        return RedirectResponse(where, status_code=303)
    if refused.version is not None:
        values |= {"version": str(refused.version)}
    return await _edit_page(
        request, municipality, apis, found, values, refused.errors, refused.conflict
    )


async def _new_page(
    request: Request,
    municipality: Municipality,
    apis: Apis,
    values: dict[str, str],
    errors: FormErrors | None = None,
) -> Response:
    return await render_console(
        request, municipality, apis, "municipality/lender_new.html", SECTION, errors,
        values=values, form_key=values.get("form_key") or new_form_key(),
    )  # fmt: skip


@router.get("/municipality/{code}/lenders/new")
async def new_form(request: Request, municipality: Municipality, apis: PersonApis) -> Response:
    """Register the municipality's or a school's legal details."""
    return await _new_page(request, municipality, apis, {})


@router.post("/municipality/{code}/lenders/new")
async def new_save(request: Request, municipality: Municipality, apis: PersonApis) -> Response:
    """Register the lender (a resent form is applied once: its idempotency key)."""
    form, errors = await read_form(request, NewLenderForm)
    key = await posted_form_key(request)
    values = await form_values(request) | {"form_key": key or ""}
    if form is not None:
        body = form.body(municipality.code)
        try:
            await apis.contracts.post(API, body, idempotency_key=key)
        except ApiProblem as problem:
            by_type = {"duplicate": ("code", DUPLICATE)}
            fields = {"/": "code", "/municipality_code": "code"}
            errors = problem_errors(problem, LENDER_MESSAGES, fields=fields, by_type=by_type)
        else:
            where = f"{municipality.base}/lenders/{form.kind}/{body['code']}?saved=true"
            return RedirectResponse(where, status_code=303)
    errors.anchors.update({"kind": "kind"})
    return await _new_page(request, municipality, apis, values, errors)
