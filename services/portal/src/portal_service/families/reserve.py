"""Families: reserve a computer for a child, see the reservation, cancel it.

child → what the child's school lends (with how many are free) → period → priority
circumstances → check your answers → confirmation. The answers wait in the web session between
the steps; the reservations service decides everything when the last step is sent, and what it
refuses is shown on the step where the answer was given.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Person, PersonApis, Settings, SignedIn
from portal_service.exceptions import PageNotFound
from portal_service.families import labels, reservations
from portal_service.families.reservations import child_of
from portal_service.families.reserve_forms import (
    BASE,
    PROBLEM_FIELDS,
    PROBLEM_MESSAGES,
    PROBLEM_TYPES,
    STEP_OF_FIELD,
    ChildForm,
    DeviceForm,
    PeriodForm,
    keep_draft,
    missing_step,
    next_step,
    read_draft,
    to_step,
)
from portal_service.i18n import N_
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import (
    FormErrors,
    form_values,
    posted_form_key,
    problem_errors,
    read_form,
)
from portal_service.web.gateway import Child
from portal_service.web.pages import page_router, render_form

router = page_router()

API = "/api/v1/reservations"


# Steps ----------------------------------------------------------------------------------------


@router.get(BASE)
async def start(person: Person, settings: Settings, child: str | None = None) -> Response:
    """Start a reservation (from home: for one child already chosen)."""
    draft: dict[str, Any] = {}
    if child_of(person, child) is not None:
        draft["child"] = child
    keep_draft(person, settings, draft)
    return to_step("device" if draft else "child")


@router.get(f"{BASE}/child")
async def child_page(request: Request, person: Person, settings: Settings) -> Response:
    """Which child."""
    draft = read_draft(person, settings)
    return _child(request, person, {"child": draft.get("child", "")}, FormErrors())


def _child(
    request: Request, person: SignedIn, values: dict[str, Any], errors: FormErrors
) -> Response:
    return render_form(
        request,
        "families/reserve/child.html",
        errors,
        children=person.profile.children,
        values=values,
    )


@router.post(f"{BASE}/child")
async def child_post(request: Request, person: Person, settings: Settings) -> Response:
    """Keep the child; a changed child forgets the computer chosen for the other one."""
    form, errors = await read_form(request, ChildForm)
    if form is None or child_of(person, form.child) is None:
        errors = errors or FormErrors().add("child", ChildForm.messages["child"])
        return _child(request, person, await form_values(request), errors)
    draft = read_draft(person, settings)
    if draft.get("child") != form.child:
        draft = {"child": form.child}
    else:
        draft["child"] = form.child
    keep_draft(person, settings, draft)
    return next_step(draft, "child")


async def _offer(apis: PersonApis, child: Child) -> dict[str, Any]:
    answer: dict[str, Any] = await apis.reservations.get(
        f"{API}/availability/offer", institution_number=child.school.registration_number
    )
    return answer


@router.get(f"{BASE}/device")
async def device_page(
    request: Request, person: Person, settings: Settings, apis: PersonApis
) -> Response:
    """What the child's school lends, with how many are free until the end of the school year."""
    draft = read_draft(person, settings)
    if missing := missing_step(draft, "device"):
        return to_step(missing)
    chosen = (draft.get("item") or {}).get("catalogue_item_code", "")
    return await _device(request, person, apis, draft, {"item": chosen}, FormErrors())


async def _device(
    request: Request,
    person: SignedIn,
    apis: PersonApis,
    draft: dict[str, Any],
    values: dict[str, Any],
    errors: FormErrors,
) -> Response:
    child = child_of(person, draft["child"])
    if child is None:
        return to_step("child")
    try:
        offer = await _offer(apis, child)
    except ApiProblem:
        offer = {"items": []}  # the school lends nothing through the platform yet
    items = [{**i, "kind": labels.kind(i)} for i in offer["items"]]
    return render_form(
        request,
        "families/reserve/device.html",
        errors,
        child=child,
        items=items,
        until=labels.last_day(dt.datetime.fromisoformat(offer["end"])) if "end" in offer else None,
        values=values,
    )


@router.post(f"{BASE}/device")
async def device_post(
    request: Request, person: Person, settings: Settings, apis: PersonApis
) -> Response:
    """Keep the chosen catalogue item (its kind becomes the reservation's criteria)."""
    draft = read_draft(person, settings)
    if missing := missing_step(draft, "device"):
        return to_step(missing)
    form, errors = await read_form(request, DeviceForm)
    child = child_of(person, draft["child"])
    if child is None:
        return to_step("child")
    offer = await _offer(apis, child) if form is not None else {"items": []}
    item = next((i for i in offer["items"] if form and i["catalogue_item_code"] == form.item), None)
    if item is None:
        errors = errors or FormErrors().add("item", DeviceForm.messages["item"])
        return await _device(request, person, apis, draft, await form_values(request), errors)
    fields = ("catalogue_item_code", "category", "os", "screen_inches", "touch")
    draft["item"] = {name: item[name] for name in fields}
    keep_draft(person, settings, draft)
    return next_step(draft, "device")


@router.get(f"{BASE}/period")
async def period_page(
    request: Request, person: Person, settings: Settings, apis: PersonApis
) -> Response:
    """The last day of the loan: the end of the school year unless the family wants less."""
    draft = read_draft(person, settings)
    if missing := missing_step(draft, "period"):
        return to_step(missing)
    return await _period(request, person, apis, draft, _end_values(draft), FormErrors())


def _end_values(draft: dict[str, Any]) -> dict[str, Any]:
    if not draft.get("end"):
        return {}
    end = dt.date.fromisoformat(draft["end"])
    return {"end_day": end.day, "end_month": end.month, "end_year": end.year}


async def _period(
    request: Request,
    person: SignedIn,
    apis: PersonApis,
    draft: dict[str, Any],
    values: dict[str, Any],
    errors: FormErrors,
) -> Response:
    child = child_of(person, draft["child"])
    if child is None:
        return to_step("child")
    offer = await _offer(apis, child)
    school_year_end = labels.last_day(dt.datetime.fromisoformat(offer["end"]))
    if not values:  # the default: the school year's last day, as the service counts it
        values = {
            "end_day": school_year_end.day,
            "end_month": school_year_end.month,
            "end_year": school_year_end.year,
        }
    return render_form(
        request,
        "families/reserve/period.html",
        errors,
        child=child,
        school_year_end=school_year_end,
        values=values,
    )


@router.post(f"{BASE}/period")
async def period_post(
    request: Request, person: Person, settings: Settings, apis: PersonApis
) -> Response:
    """Keep the period (whether the service accepts it is known when the form is sent)."""
    draft = read_draft(person, settings)
    if missing := missing_step(draft, "period"):
        return to_step(missing)
    form, errors = await read_form(request, PeriodForm)
    if form is None:
        return await _period(request, person, apis, draft, await form_values(request), errors)
    draft["end"] = form.end.isoformat() if form.end else None
    keep_draft(person, settings, draft)
    return next_step(draft, "period")


@router.get(f"{BASE}/priority")
async def priority_page(request: Request, person: Person, settings: Settings) -> Response:
    """The programme's priority circumstances, declared by the guardian."""
    draft = read_draft(person, settings)
    if missing := missing_step(draft, "priority"):
        return to_step(missing)
    chosen = draft.get("criteria")
    values = {"criteria": ["none"] if chosen == [] else (chosen or [])}
    return _priority(request, person, draft, values, FormErrors())


def _priority(
    request: Request,
    person: SignedIn,
    draft: dict[str, Any],
    values: dict[str, Any],
    errors: FormErrors,
) -> Response:
    return render_form(
        request,
        "families/reserve/priority.html",
        errors,
        child=child_of(person, draft["child"]),
        criteria=labels.CRITERIA,
        values=values,
    )


@router.post(f"{BASE}/priority")
async def priority_post(request: Request, person: Person, settings: Settings) -> Response:
    """Keep the declared circumstances ("none of these" is an answer too)."""
    draft = read_draft(person, settings)
    if missing := missing_step(draft, "priority"):
        return to_step(missing)
    chosen = [v for v in (await request.form()).getlist("criteria") if isinstance(v, str)]
    known = [c for c in chosen if c in labels.CRITERIA]
    none = "none" in chosen
    if (not known and not none) or (known and none) or len(known) + none != len(chosen):
        message = (
            N_("Select the circumstances that apply, or select 'None of these'")
            if not (known and none)
            else N_("Select either the circumstances that apply or 'None of these', not both")
        )
        errors = FormErrors(anchors={"criteria": "criteria"}).add("criteria", message)
        return _priority(request, person, draft, {"criteria": chosen}, errors)
    draft["criteria"] = known
    keep_draft(person, settings, draft)
    return next_step(draft, "priority")


@router.get(f"{BASE}/check")
async def check_page(request: Request, person: Person, settings: Settings) -> Response:
    """Check your answers, with a link to change each."""
    draft = read_draft(person, settings)
    if missing := missing_step(draft, "check"):
        return to_step(missing)
    draft["checking"] = True
    keep_draft(person, settings, draft)
    return _check(request, person, draft, FormErrors())


def _check(
    request: Request, person: SignedIn, draft: dict[str, Any], errors: FormErrors
) -> Response:
    end = dt.date.fromisoformat(draft["end"]) if draft.get("end") else None
    return render_form(
        request,
        "families/reserve/check.html",
        errors,
        child=child_of(person, draft["child"]),
        kind=labels.kind(draft["item"]),
        end=end,
        criteria=[labels.CRITERIA_SHORT[c] for c in draft["criteria"]],
        form_key=new_form_key(),
    )


def reservation_body(person: SignedIn, draft: dict[str, Any]) -> dict[str, Any]:
    """The reservations API's request from the answers (the guardian only declares)."""
    child = child_of(person, draft["child"])
    if child is None:
        raise PageNotFound("the child is not the person's")
    body: dict[str, Any] = {
        "learner_id": child.id,
        "institution_number": child.school.registration_number,
        "criteria": {k: v for k, v in draft["item"].items() if v is not None},
        "social_criteria": [{"criterion": c, "source": "declared"} for c in draft["criteria"]],
    }
    if draft.get("end"):
        body["end"] = labels.end_of_day(dt.date.fromisoformat(draft["end"])).isoformat()
    return body


@router.post(f"{BASE}/check")
async def check_post(
    request: Request, person: Person, settings: Settings, apis: PersonApis
) -> Response:
    """Send the reservation; a refusal is shown on the step whose answer it concerns."""
    draft = read_draft(person, settings)
    if missing := missing_step(draft, "check"):
        return to_step(missing)
    try:
        created = await apis.reservations.post(
            API, reservation_body(person, draft), idempotency_key=await posted_form_key(request)
        )
    except ApiProblem as problem:
        errors = problem_errors(
            problem, PROBLEM_MESSAGES, fields=PROBLEM_FIELDS, by_type=PROBLEM_TYPES
        )
        return await _refused(request, person, apis, draft, errors)
    keep_draft(person, settings, None)
    return RedirectResponse(f"{BASE}/done/{created['id']}", status_code=303)


async def _refused(
    request: Request,
    person: SignedIn,
    apis: PersonApis,
    draft: dict[str, Any],
    errors: FormErrors,
) -> Response:
    """The step of the first refused answer, with the service's messages."""
    step = next((STEP_OF_FIELD[f] for f in errors.fields if f in STEP_OF_FIELD), "check")
    if step == "child":
        errors.anchors["child"] = "child"
        return _child(request, person, {"child": draft["child"]}, errors)
    if step == "device":
        code = draft["item"]["catalogue_item_code"]
        return await _device(request, person, apis, draft, {"item": code}, errors)
    if step == "period":
        errors.anchors["end"] = "end-day"
        return await _period(request, person, apis, draft, _end_values(draft), errors)
    if step == "priority":
        return _priority(request, person, draft, {"criteria": draft["criteria"]}, errors)
    return _check(request, person, draft, errors)


# The reservation's own pages (its confirmation, status and cancelling).
router.include_router(reservations.router)
