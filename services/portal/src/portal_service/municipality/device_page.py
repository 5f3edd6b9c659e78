"""One device in the console (`/municipality/<code>/devices/<id>`): its details, its whole
history as a timeline (who, when, what, why), a status change with a reason and assigning it
to another school of the municipality. Each form carries the version it was shown (If-Match):
a change meanwhile shows the device as it is now with "someone changed this meanwhile"."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, ClassVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import Field

from portal_service.deps import Person, PersonApis, SignedIn
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_
from portal_service.municipality import device_labels as labels
from portal_service.municipality.common import (
    INVENTORY,
    Municipality,
    MunicipalityPath,
    municipality_name,
)
from portal_service.schools.common import together
from portal_service.web.api import ApiProblem, ServiceApi, new_form_key
from portal_service.web.forms import Form, FormErrors, posted_form_key, problem_errors, read_form
from portal_service.web.pages import page_router, render_form

router = page_router()
PATH = "/municipality/{code}/devices/{device_id}"
# A device's history is read whole, a few hundred entries at most (a page of 200 at a time).
HISTORY_PAGES = 5
Version = Annotated[str, Field(min_length=1, max_length=40, pattern=r'^(W/)?"[0-9]{1,12}"$')]
STALE = N_(
    "Someone changed this device meanwhile. Its details below are as they are now: check them "
    "and try again."
)


class StatusForm(Form):
    """A status change: where to, why, and the version the page showed."""

    to: Annotated[str, Field(min_length=1, max_length=40)]
    reason: Annotated[str, Field(min_length=1, max_length=1000)]
    version: Version
    messages: ClassVar[dict[str, str]] = {
        "to": N_("Select the new status"),
        "reason": N_("Enter why the status changes (up to 1,000 characters)"),
        "version": STALE,
    }


class SchoolForm(Form):
    """An assignment: the school (or none: the municipality's own stock) and the version."""

    school: Annotated[str, Field(max_length=20, pattern=r"^([0-9]{5,20}|none)$")]
    version: Version
    messages: ClassVar[dict[str, str]] = {
        "school": N_("Select a school of the municipality"),
        "version": STALE,
    }


async def institutions_of(api: ServiceApi, code: str) -> list[dict[str, Any]]:
    """The municipality's schools, by name."""
    body = await api.get(f"{INVENTORY}/institutions", municipality=code, limit=200)
    return sorted(body.get("items") or [], key=lambda i: str(i.get("name", "")))


async def catalogue_of(api: ServiceApi) -> list[dict[str, Any]]:
    """The catalogue's items, by name."""
    body = await api.get(f"{INVENTORY}/catalogue-items", limit=200)
    return sorted(body.get("items") or [], key=lambda i: str(i.get("name", "")))


async def _device(
    api: ServiceApi, municipality: MunicipalityPath, device_id: uuid.UUID
) -> tuple[dict[str, Any], str]:
    """The device and its ETag; another municipality's device is not found."""
    answer, place = await together(
        api.request("GET", f"{INVENTORY}/devices/{device_id}"),
        api.get(f"{INVENTORY}/municipalities/{municipality.code}"),
    )
    device = answer.json()
    if device.get("municipality_id") != place.get("id"):
        raise PageNotFound("the device belongs to another municipality")
    return device, answer.headers.get("etag", "")


async def _history(api: ServiceApi, device_id: uuid.UUID) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    for _ in range(HISTORY_PAGES):
        page = await api.get(f"{INVENTORY}/devices/{device_id}/history", limit=200, cursor=cursor)
        entries += page.get("items") or []
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return entries[::-1]  # newest first


def actor_words(actor: str, person: SignedIn) -> tuple[str, dict[str, str]]:
    """Who made a change, in words (a message id and its parameters)."""
    kind, _, who = actor.partition(":")
    if kind == "person" and who == person.profile.id:
        return labels.ACTORS["you"], {}
    if kind == "client":
        return labels.ACTORS["client"], {"client": who}
    return labels.ACTORS.get(kind, labels.ACTORS["person"]), {}


def change_value(field: str, value: Any, schools: dict[str, str]) -> tuple[str, bool]:
    """A recorded value as shown: (text, whether it is a message id to translate)."""
    if value is None or value == [] or value == "":
        return "—", False
    named = {
        "status": labels.DEVICE_STATUSES,
        "condition": labels.DEVICE_CONDITIONS,
        "funding_source": labels.FUNDING_SOURCES,
    }.get(field)
    if named is not None and value in named:
        return named[value], True
    if field == "institution":
        return schools.get(str(value), str(value)), False
    if isinstance(value, list):
        return ", ".join(str(v) for v in value), False
    return str(value), False


def entry_view(entry: dict[str, Any], person: SignedIn, schools: dict[str, str]) -> dict[str, Any]:
    """A history entry as the timeline shows it."""
    changes = []
    for name, pair in (entry.get("changes") or {}).items():
        old, new = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
        changes.append(
            {
                "field": labels.HISTORY_FIELDS.get(name, name),
                "old": change_value(name, old, schools),
                "new": change_value(name, new, schools),
                "known": name in labels.HISTORY_FIELDS,
            }
        )
    reason = entry.get("reason") or ""
    return {
        "at": entry["at"],
        "action": labels.HISTORY_ACTIONS.get(entry.get("action", ""), entry.get("action", "")),
        "actor": actor_words(str(entry.get("actor") or ""), person),
        "changes": changes,
        "reason": labels.EVENT_REASONS.get(reason, reason),
        "reason_known": reason in labels.EVENT_REASONS,
    }


async def _page(
    request: Request,
    municipality: MunicipalityPath,
    device_id: uuid.UUID,
    person: SignedIn,
    apis: PersonApis,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    done: str | None = None,
) -> Response:
    """The device page (with a refused form's messages and what the person typed)."""
    (device, version), name, schools, catalogue, history, moves = await together(
        _device(apis.inventory, municipality, device_id),
        municipality_name(apis, municipality.code),
        institutions_of(apis.inventory, municipality.code),
        catalogue_of(apis.inventory),
        _history(apis.inventory, device_id),
        apis.inventory.get(f"{INVENTORY}/devices/{device_id}/transitions"),
    )
    by_number = {str(s["registration_number"]): str(s["name"]) for s in schools}
    school = next((s for s in schools if s["id"] == device.get("institution_id")), None)
    item = next((i for i in catalogue if i["id"] == device.get("catalogue_item_id")), None)
    for day in ("delivery_date", "warranty_ends_on"):
        device[day] = dt.date.fromisoformat(device[day]) if device.get(day) else None
    timeline = [entry_view(e, person, by_number) for e in history]
    for entry in timeline:
        entry["at"] = dt.datetime.fromisoformat(entry["at"])
    return render_form(
        request,
        "municipality/device.html",
        errors,
        municipality=municipality,
        municipality_name=name,
        device=device,
        version=version,
        school=school,
        schools=schools,
        item=item,
        timeline=timeline,
        allowed=moves.get("allowed") or [],
        values=values or {},
        done=done if done in labels.OUTCOMES else None,
        form_key=new_form_key(),
        labels=labels,
    )


@router.get(PATH)
async def device(
    request: Request,
    municipality: Municipality,
    device_id: uuid.UUID,
    person: Person,
    apis: PersonApis,
    done: str | None = None,
) -> Response:
    """The device: details, what can be done with it, and its history."""
    return await _page(request, municipality, device_id, person, apis, done=done)


def _done(municipality: MunicipalityPath, device_id: uuid.UUID, what: str) -> RedirectResponse:
    return RedirectResponse(f"{municipality.base}/devices/{device_id}?done={what}", status_code=303)


async def _current(
    apis: PersonApis, municipality: MunicipalityPath, device_id: uuid.UUID
) -> dict[str, Any]:
    return (await _device(apis.inventory, municipality, device_id))[0]


@router.post(PATH + "/status")
async def change_status(
    request: Request,
    municipality: Municipality,
    device_id: uuid.UUID,
    person: Person,
    apis: PersonApis,
) -> Response:
    """Move the device to another status with a reason, if it is still as the page showed it."""
    form, errors = await read_form(request, StatusForm)
    values = {
        k: v
        for k, v in (await request.form()).items()
        if isinstance(v, str) and k in ("to", "reason")
    }
    if form is None:
        return await _page(request, municipality, device_id, person, apis, errors, values)
    path = f"{INVENTORY}/devices/{device_id}/transitions"
    try:
        await apis.inventory.post(
            path,
            {"to": form.to, "reason": form.reason},
            if_match=form.version,
            idempotency_key=await posted_form_key(request),
        )
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise PageNotFound(f"transition refused: {problem.type}") from problem
        if (
            problem.status == 412
            and (await _current(apis, municipality, device_id))["status"] == form.to
        ):
            return _done(municipality, device_id, "status")  # a form sent twice: done already
        errors = _status_errors(problem)
        return await _page(request, municipality, device_id, person, apis, errors, values)
    return _done(municipality, device_id, "status")


def _status_errors(problem: ApiProblem) -> FormErrors:
    if problem.status == 412:
        return FormErrors().add("form", STALE)
    by_type = {"illegal-transition": ("to", N_("The device cannot go to this status now"))}
    return problem_errors(problem, StatusForm.messages, by_type=by_type)


async def _assigned(
    apis: PersonApis, municipality: MunicipalityPath, device_id: uuid.UUID, school: str
) -> bool:
    """Whether the device is at that school now (`none`: at none)."""
    current = (await _current(apis, municipality, device_id)).get("institution_id")
    if school == "none" or current is None:
        return school == "none" and current is None
    institution = await apis.inventory.get(f"{INVENTORY}/institutions/{school}")
    return bool(current == institution.get("id"))


@router.post(PATH + "/school")
async def assign_school(
    request: Request,
    municipality: Municipality,
    device_id: uuid.UUID,
    person: Person,
    apis: PersonApis,
) -> Response:
    """Assign the device to a school of the municipality (or to none), if unchanged meanwhile."""
    form, errors = await read_form(request, SchoolForm)
    values = {
        k: v for k, v in (await request.form()).items() if isinstance(v, str) and k == "school"
    }
    if form is None:
        return await _page(request, municipality, device_id, person, apis, errors, values)
    body: dict[str, Any] = (
        {"unassign": True}
        if form.school == "none"
        else {"institution_registration_number": form.school}
    )
    try:
        await apis.inventory.patch(f"{INVENTORY}/devices/{device_id}", body, if_match=form.version)
    except ApiProblem as problem:
        if problem.status in (403, 404) and problem.type != "institution-not-found":
            raise PageNotFound(f"assignment refused: {problem.type}") from problem
        if problem.status == 412 and await _assigned(apis, municipality, device_id, form.school):
            return _done(municipality, device_id, "school")  # a form sent twice: done already
        errors = (
            FormErrors().add("form", STALE)
            if problem.status == 412
            else problem_errors(
                problem,
                SchoolForm.messages,
                fields={"institution_registration_number": "school"},
                by_type={
                    "institution-not-found": ("school", SchoolForm.messages["school"]),
                    "institution-outside-municipality": ("school", SchoolForm.messages["school"]),
                },
            )
        )
        return await _page(request, municipality, device_id, person, apis, errors, values)
    return _done(municipality, device_id, "school")
