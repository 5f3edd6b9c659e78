"""Staff (`/municipality/<code>/staff`): who holds the school admin and technician roles the
municipality granted, granting one (personal code → the person's name from VIIS to check →
grant) and revoking one (a confirmation first). The gateway decides who may grant what; its
refusals come back as the form's messages. A personal code is typed once: it goes to the
gateway in a POST body and never into a page, a URL or a log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal_service.deps import PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.municipality import console
from portal_service.municipality.common import (
    GATEWAY,
    INVENTORY,
    Municipality,
    MunicipalityPath,
)
from portal_service.municipality.staff_forms import (
    GRANTABLE,
    ROLE_HINTS,
    SCHOOL_ADMIN,
    ConfirmForm,
    GrantForm,
    grant_errors,
    grant_view,
    refusal_errors,
)
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import FormErrors, form_values, posted_form_key, read_form
from portal_service.web.pages import page_router

router = page_router()
GRANTS = f"{GATEWAY}/grants"
Done = Literal["granted", "revoked"]
# An opaque cursor of the gateway's (its pagination's alphabet).
Cursor = Annotated[str | None, Query(max_length=2000, pattern=r"^[A-Za-z0-9_=-]+$")]
STAFF_PAGE = 100


async def schools_of(apis: PersonApis, code: str) -> dict[str, str]:
    """The municipality's schools: registration number → name, by number."""
    body = await apis.inventory.get(f"{INVENTORY}/institutions", municipality=code, limit=200)
    return {str(i["registration_number"]): str(i["name"]) for i in body.get("items") or []}


async def render_console(
    request: Request,
    apis: PersonApis,
    place: MunicipalityPath,
    name: str,
    section: str = "/staff",
    **context: Any,
) -> HTMLResponse:
    """A page of the staff or platforms section in the console's frame (a refused form's
    `errors` make it a 400)."""
    errors = context.pop("errors", None)
    return await console.render_console(
        request, place, apis, f"municipality/{name}", section, errors, place=place, **context
    )


@router.get("/municipality/{code}/staff")
async def staff(
    request: Request,
    place: Municipality,
    apis: PersonApis,
    done: Done | None = None,
    cursor: Cursor = None,
) -> Response:
    """The roles granted in the municipality, oldest first, each with a revoke link."""
    page = await apis.gateway.get(
        GRANTS, municipality_code=place.code, limit=STAFF_PAGE, cursor=cursor
    )
    schools = await schools_of(apis, place.code)
    grants = [grant_view(g, schools) for g in page.get("items") or []]
    return await render_console(
        request,
        apis,
        place,
        "staff.html",
        grants=grants,
        done=done,
        next_cursor=page.get("next_cursor"),
    )


async def _grant_form(
    request: Request,
    apis: PersonApis,
    place: MunicipalityPath,
    errors: FormErrors | None,
    values: dict[str, str] | None = None,
) -> Response:
    """The grant form; `values` never holds the personal code (it is typed again)."""
    kept = {k: v for k, v in (values or {}).items() if k in ("role", "school")}
    return await render_console(
        request,
        apis,
        place,
        "staff_grant.html",
        errors=errors,
        values=kept,
        schools=await schools_of(apis, place.code),
        roles=GRANTABLE,
        role_hints=ROLE_HINTS,
    )


@router.get("/municipality/{code}/staff/new")
async def grant_page(request: Request, place: Municipality, apis: PersonApis) -> Response:
    """Grant a role: personal code, role, school."""
    return await _grant_form(request, apis, place, None)


@router.post("/municipality/{code}/staff/new")
async def grant_check(request: Request, place: Municipality, apis: PersonApis) -> Response:
    """Find the person in VIIS through the gateway and show whom the role would go to."""
    values = await form_values(request)
    form, errors = await read_form(request, GrantForm)
    if form is None:
        return await _grant_form(request, apis, place, grant_errors(values, errors), values)
    schools = await schools_of(apis, place.code)
    if form.school is not None and form.school not in schools:
        errors = grant_errors(values, FormErrors().add("school", GrantForm.messages["school"]))
        return await _grant_form(request, apis, place, errors, values)
    try:
        person = await apis.gateway.post(
            f"{GATEWAY}/people/lookup", {"personal_code": form.personal_code}
        )
    except ApiProblem as problem:
        return await _grant_form(request, apis, place, refusal_errors(problem), values)
    return await render_console(
        request,
        apis,
        place,
        "staff_check.html",
        person=person,
        role=form.role,
        role_name=GRANTABLE[form.role],
        school=form.school,
        school_name=schools.get(form.school or ""),
        form_key=new_form_key(),
    )


@router.post("/municipality/{code}/staff/grants")
async def grant(request: Request, place: Municipality, apis: PersonApis) -> Response:
    """Grant the checked role; the gateway's refusal shows on the form (the code re-typed)."""
    values = await form_values(request)
    form, errors = await read_form(request, ConfirmForm)
    if form is None:
        return await _grant_form(request, apis, place, grant_errors(values, errors), values)
    target = (
        {"institution_number": form.school}
        if form.role == SCHOOL_ADMIN
        else {"municipality_code": place.code}
    )
    body = {"person_id": str(form.person_id), "role": form.role, **target}
    try:
        await apis.gateway.post(GRANTS, body, idempotency_key=await posted_form_key(request))
    except ApiProblem as problem:
        return await _grant_form(request, apis, place, refusal_errors(problem), values)
    return RedirectResponse(f"{place.base}/staff?done=granted", status_code=303)


async def _grant_of(apis: PersonApis, place: MunicipalityPath, grant_id: uuid.UUID) -> Any:
    """A live grant of this municipality (anything else is not found)."""
    found = await apis.gateway.get(f"{GRANTS}/{grant_id}")
    schools = await schools_of(apis, place.code)
    in_place = found.get("municipality_code") == place.code or (
        found.get("institution_number") in schools
    )
    view = grant_view(found, schools)
    if not in_place or not view["revocable"]:
        raise PageNotFound("not a live grant of this municipality")
    return view


@router.get("/municipality/{code}/staff/{grant_id}/revoke")
async def revoke_page(
    request: Request, place: Municipality, apis: PersonApis, grant_id: uuid.UUID
) -> Response:
    """Are you sure? (a POST revokes it)."""
    view = await _grant_of(apis, place, grant_id)
    return await render_console(request, apis, place, "staff_revoke.html", grant=view)


@router.post("/municipality/{code}/staff/{grant_id}/revoke")
async def revoke(place: Municipality, apis: PersonApis, grant_id: uuid.UUID) -> Response:
    """Revoke the grant (one revoked meanwhile is as good); the person loses the role at their
    next login or token refresh."""
    try:
        await apis.gateway.post(f"{GRANTS}/{grant_id}/revoke")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise PageNotFound(f"revoke refused: {problem.type}") from problem
        if problem.type != "already-revoked":
            raise
    return RedirectResponse(f"{place.base}/staff?done=revoked", status_code=303)
