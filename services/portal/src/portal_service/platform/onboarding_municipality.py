"""The flow's first question: which municipality (one VIIS lists, or another one by ATVK code
and name on a page of its own)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import PersonApis, Settings, SignedIn
from portal_service.municipality.common import INVENTORY
from portal_service.platform.deliveries import PlatformAdmin
from portal_service.platform.municipalities import every
from portal_service.platform.onboarding_flow import (
    BASE,
    OTHER,
    MunicipalityForm,
    OtherMunicipalityForm,
    back_of,
    draft_for,
    keep_draft,
    next_step,
)
from portal_service.web.forms import FormErrors, form_values, read_form
from portal_service.web.pages import page_router, render_form

router = page_router()


@router.get(BASE + "/municipality")
async def municipality_page(
    request: Request, admin: PlatformAdmin, apis: PersonApis, settings: Settings
) -> Response:
    """Which municipality."""
    draft = draft_for(admin, settings, "municipality")
    if isinstance(draft, Response):
        return draft
    return await _municipality(request, apis, draft, {"choice": draft.get("choice")}, FormErrors())


async def _municipality(
    request: Request,
    apis: PersonApis,
    draft: dict[str, Any],
    values: dict[str, Any],
    errors: FormErrors,
) -> Response:
    known = await apis.inventory.get(f"{INVENTORY}/viis/municipalities")
    here = {m["code"] for m in await every(apis, f"{INVENTORY}/municipalities")}
    return render_form(
        request,
        "platform/onboarding/municipality.html",
        errors,
        values=values,
        known=known,
        here=here,
        back=back_of(draft, "municipality"),
    )


@router.post(BASE + "/municipality")
async def municipality_post(
    request: Request, admin: PlatformAdmin, apis: PersonApis, settings: Settings
) -> Response:
    """Keep the municipality chosen (with VIIS's name), or ask for another one's code."""
    draft = draft_for(admin, settings, "municipality")
    if isinstance(draft, Response):
        return draft
    form, errors = await read_form(request, MunicipalityForm)
    if form is None:
        return await _municipality(request, apis, draft, await form_values(request), errors)
    if form.choice == OTHER:
        draft["choice"] = OTHER
        keep_draft(admin, settings, draft)
        return RedirectResponse(BASE + "/other", status_code=303)
    known = await apis.inventory.get(f"{INVENTORY}/viis/municipalities")
    names = {m["code"]: m["name"] for m in known}
    if form.choice not in names:
        errors = FormErrors().add("choice", MunicipalityForm.messages["choice"])
        return await _municipality(request, apis, draft, await form_values(request), errors)
    return _chosen(admin, settings, draft, form.choice, form.choice, names[form.choice])


@router.get(BASE + "/other")
async def other_page(request: Request, admin: PlatformAdmin, settings: Settings) -> Response:
    """Another municipality: its ATVK code and name."""
    draft = draft_for(admin, settings, "municipality")
    if isinstance(draft, Response):
        return draft
    typed = draft.get("choice") == OTHER and "code" in draft
    values = {"code": draft["code"], "name": draft["name"]} if typed else {}
    return _other(request, values, FormErrors())


def _other(request: Request, values: dict[str, Any], errors: FormErrors) -> Response:
    return render_form(request, "platform/onboarding/other.html", errors, values=values)


@router.post(BASE + "/other")
async def other_post(request: Request, admin: PlatformAdmin, settings: Settings) -> Response:
    """Keep another municipality's code and name."""
    draft = draft_for(admin, settings, "municipality")
    if isinstance(draft, Response):
        return draft
    form, errors = await read_form(request, OtherMunicipalityForm)
    if form is None:
        return _other(request, await form_values(request), errors)
    return _chosen(admin, settings, draft, OTHER, form.code, form.name)


def _chosen(
    admin: SignedIn, settings: Settings, draft: dict[str, Any], choice: str, code: str, name: str
) -> Response:
    """Keep the municipality; another one than before has its schools to be seen again."""
    if code != draft.get("code"):
        draft.pop("schools_seen", None)
    draft.update(choice=choice, code=code, name=name)
    keep_draft(admin, settings, draft)
    return next_step(draft, "municipality")
