"""Adding a municipality (`/platform/municipalities/new/…`), for platform administrators: one
guided flow of question pages: the municipality (from VIIS's list, or by ATVK code and name) →
its schools as VIIS lists them → reservation rules → support time targets → the municipality as
lender → its first administrator (personal code, typed once; VIIS's name for it shown to
confirm) → check your answers → "Create" (`onboarding_create`: idempotent as a whole) → what
was done. Nobody but a platform administrator finds these pages.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import PersonApis, Settings
from portal_service.municipality.common import GATEWAY, INVENTORY, RESERVATIONS, TICKETS
from portal_service.platform import onboarding_municipality
from portal_service.platform.deliveries import PlatformAdmin
from portal_service.platform.onboarding_create import STEP_NAMES, create_all
from portal_service.platform.onboarding_flow import (
    BASE,
    CREATE_FAILED,
    LIST,
    RETYPE,
    SEVERITIES,
    UNKNOWN_PERSON,
    AdminForm,
    LenderForm,
    ReservationsForm,
    back_of,
    draft_for,
    failed,
    keep_draft,
    missing_step,
    next_step,
    read_draft,
    read_sla,
    to_step,
)
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import FormErrors, form_values, read_form
from portal_service.web.pages import page_router, render_form, render_page

router = page_router()

# The flow -------------------------------------------------------------------------------------


@router.get(BASE)
async def start(admin: PlatformAdmin, settings: Settings) -> Response:
    """Start adding a municipality (answers of an unfinished one are forgotten)."""
    keep_draft(admin, settings, {"flow_key": new_form_key()})
    return to_step("municipality")


@router.get(BASE + "/schools")
async def schools_page(
    request: Request, admin: PlatformAdmin, apis: PersonApis, settings: Settings
) -> Response:
    """The schools VIIS lists in the municipality, to be imported."""
    draft = draft_for(admin, settings, "schools")
    if isinstance(draft, Response):
        return draft
    listed = await apis.inventory.get(
        f"{INVENTORY}/viis/municipalities/{draft['code']}/institutions"
    )
    return render_page(
        request,
        "platform/onboarding/schools.html",
        draft=draft,
        schools=listed,
        back=back_of(draft, "schools"),
    )


@router.post(BASE + "/schools")
async def schools_post(admin: PlatformAdmin, settings: Settings) -> Response:
    """The schools are seen: on to the rules."""
    draft = draft_for(admin, settings, "schools")
    if isinstance(draft, Response):
        return draft
    draft["schools_seen"] = True
    keep_draft(admin, settings, draft)
    return next_step(draft, "schools")


@router.get(BASE + "/reservations")
async def reservations_page(
    request: Request, admin: PlatformAdmin, apis: PersonApis, settings: Settings
) -> Response:
    """Reservation rules to start with (the service's defaults offered)."""
    draft = draft_for(admin, settings, "reservations")
    if isinstance(draft, Response):
        return draft
    values = draft.get("reservations")
    if values is None:
        current = await apis.reservations.get(f"{RESERVATIONS}/policies/{draft['code']}")
        values = {
            "auto_approve": "yes" if current.get("auto_approve") else "no",
            "max_period_days": current.get("max_period_days"),
            "pickup_days": current.get("pickup_days"),
        }
    return _reservations(request, draft, values, FormErrors())


def _reservations(
    request: Request, draft: dict[str, Any], values: dict[str, Any], errors: FormErrors
) -> Response:
    return render_form(
        request,
        "platform/onboarding/reservations.html",
        errors,
        values=values,
        draft=draft,
        back=back_of(draft, "reservations"),
    )


@router.post(BASE + "/reservations")
async def reservations_post(request: Request, admin: PlatformAdmin, settings: Settings) -> Response:
    """Keep the reservation rules."""
    draft = draft_for(admin, settings, "reservations")
    if isinstance(draft, Response):
        return draft
    form, errors = await read_form(request, ReservationsForm)
    if form is None:
        return _reservations(request, draft, await form_values(request), errors)
    draft["reservations"] = form.model_dump()
    keep_draft(admin, settings, draft)
    return next_step(draft, "reservations")


@router.get(BASE + "/sla")
async def sla_page(
    request: Request, admin: PlatformAdmin, apis: PersonApis, settings: Settings
) -> Response:
    """Support time targets per severity, in hours (the tickets service's defaults offered)."""
    draft = draft_for(admin, settings, "sla")
    if isinstance(draft, Response):
        return draft
    chosen = draft.get("sla")
    if chosen is None:
        current = await apis.tickets.get(f"{TICKETS}/sla-policies/{draft['code']}")
        chosen = {
            p["severity"]: [p["response_minutes"] // 60, p["resolution_minutes"] // 60]
            for p in current
        }
    values = {}
    for severity, (response_h, resolution_h) in chosen.items():
        values[f"{severity}_response"] = response_h
        values[f"{severity}_resolution"] = resolution_h
    return _sla(request, draft, values, FormErrors())


def _sla(
    request: Request, draft: dict[str, Any], values: dict[str, Any], errors: FormErrors
) -> Response:
    return render_form(
        request,
        "platform/onboarding/sla.html",
        errors,
        values=values,
        severities=SEVERITIES,
        draft=draft,
        back=back_of(draft, "sla"),
    )


@router.post(BASE + "/sla")
async def sla_post(request: Request, admin: PlatformAdmin, settings: Settings) -> Response:
    """Keep the support time targets."""
    draft = draft_for(admin, settings, "sla")
    if isinstance(draft, Response):
        return draft
    values = await form_values(request)
    targets, errors = read_sla(values)
    if errors:
        return _sla(request, draft, values, errors)
    draft["sla"] = targets
    keep_draft(admin, settings, draft)
    return next_step(draft, "sla")


@router.get(BASE + "/lender")
async def lender_page(request: Request, admin: PlatformAdmin, settings: Settings) -> Response:
    """The municipality as lender: its legal details for loan contracts."""
    draft = draft_for(admin, settings, "lender")
    if isinstance(draft, Response):
        return draft
    values = draft.get("lender") or {"name": draft["name"]}
    return _lender(request, draft, values, FormErrors())


def _lender(
    request: Request, draft: dict[str, Any], values: dict[str, Any], errors: FormErrors
) -> Response:
    return render_form(
        request,
        "platform/onboarding/lender.html",
        errors,
        values=values,
        draft=draft,
        back=back_of(draft, "lender"),
    )


@router.post(BASE + "/lender")
async def lender_post(request: Request, admin: PlatformAdmin, settings: Settings) -> Response:
    """Keep the lender's details."""
    draft = draft_for(admin, settings, "lender")
    if isinstance(draft, Response):
        return draft
    form, errors = await read_form(request, LenderForm)
    if form is None:
        return _lender(request, draft, await form_values(request), errors)
    draft["lender"] = form.model_dump()
    keep_draft(admin, settings, draft)
    return next_step(draft, "lender")


@router.get(BASE + "/admin")
async def admin_page(request: Request, admin: PlatformAdmin, settings: Settings) -> Response:
    """The first municipality administrator's personal code (never shown back)."""
    draft = draft_for(admin, settings, "admin")
    if isinstance(draft, Response):
        return draft
    return _admin(request, draft, FormErrors())


def _admin(request: Request, draft: dict[str, Any], errors: FormErrors) -> Response:
    return render_form(
        request,
        "platform/onboarding/admin.html",
        errors,
        draft=draft,
        back=back_of(draft, "admin"),
    )


@router.post(BASE + "/admin")
async def admin_post(
    request: Request, admin: PlatformAdmin, apis: PersonApis, settings: Settings
) -> Response:
    """Find the person in VIIS; keep the code (encrypted, until "Create") and their name."""
    draft = draft_for(admin, settings, "admin")
    if isinstance(draft, Response):
        return draft
    form, errors = await read_form(request, AdminForm)
    if form is None:
        return _admin(request, draft, errors)
    try:
        named = await apis.gateway.post(
            f"{GATEWAY}/people/lookup", json={"personal_code": form.personal_code}
        )
    except ApiProblem as problem:
        message = UNKNOWN_PERSON if problem.status == 404 else RETYPE
        return _admin(request, draft, FormErrors().add("personal_code", message))
    draft.update(
        personal_code=form.personal_code,
        admin_name=f"{named['given_name']} {named['family_name']}",
    )
    keep_draft(admin, settings, draft)
    return next_step(draft, "admin")


@router.get(BASE + "/check")
async def check_page(request: Request, admin: PlatformAdmin, settings: Settings) -> Response:
    """Check your answers before creating."""
    draft = read_draft(admin, settings)
    if draft.get("outcomes") and not failed(draft):
        return RedirectResponse(BASE + "/done", status_code=303)
    found = draft_for(admin, settings, "check")
    if isinstance(found, Response):
        return found
    found["checking"] = True
    keep_draft(admin, settings, found)
    return _check(request, found, FormErrors())


def _check(request: Request, draft: dict[str, Any], errors: FormErrors) -> Response:
    return render_form(
        request,
        "platform/onboarding/check.html",
        errors,
        draft=draft,
        severities=SEVERITIES,
        outcomes=draft.get("outcomes") or [],
        step_names=STEP_NAMES,
    )


@router.post(BASE + "/check")
async def create(
    request: Request, admin: PlatformAdmin, apis: PersonApis, settings: Settings
) -> Response:
    """Create everything; a repeated submit after success shows what was done."""
    draft = read_draft(admin, settings)
    if draft.get("outcomes") and not failed(draft):
        return RedirectResponse(BASE + "/done", status_code=303)
    draft.pop("outcomes", None)
    missing = missing_step(draft, "check") if "flow_key" in draft else "municipality"
    if missing:
        return to_step(missing)
    outcomes = await create_all(apis, draft, draft["flow_key"])
    draft["outcomes"] = outcomes
    if failed(draft):
        keep_draft(admin, settings, draft)
        errors = FormErrors().add("form", CREATE_FAILED)
        return _check(request, draft, errors)
    done = {k: draft[k] for k in ("code", "name", "admin_name", "outcomes", "flow_key")}
    keep_draft(admin, settings, done)  # the personal code goes: the role is granted
    return RedirectResponse(BASE + "/done", status_code=303)


@router.get(BASE + "/done")
async def done(request: Request, admin: PlatformAdmin, settings: Settings) -> Response:
    """What "Create" did, step by step."""
    draft = read_draft(admin, settings)
    if not draft.get("outcomes") or failed(draft):
        return RedirectResponse(LIST, status_code=303)
    return render_page(
        request,
        "platform/onboarding/done.html",
        draft=draft,
        outcomes=draft["outcomes"],
        step_names=STEP_NAMES,
    )


# The first question (which municipality) has a module of its own.
router.include_router(onboarding_municipality.router)
