"""Families: report a problem with a device on loan (pages under `/families/report/`).

Device → category → description → photos → check your answers → the ticket's number. The
answers and photos wait in the session's draft (`web/drafts.py`) until the person sends the
report; the tickets service then decides, and a problem it finds is shown at the step's field.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Person, PersonApis, Settings
from portal_service.families.report_forms import (
    CATEGORIES,
    DEVICE_PROBLEMS,
    NO_PHOTO,
    PHOTO_MESSAGES,
    STEP_OF,
    CategoryForm,
    DescriptionForm,
    DeviceForm,
)
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.drafts import Draft, chosen_files, clean_photos
from portal_service.web.forms import FormErrors, posted_form_key, problem_errors, read_form
from portal_service.web.pages import page_router, render_form, render_page
from shared_kit.deps import SessionDep

router = page_router()
BASE = "/families/report"
FLOW = "report"


async def report_draft(person: Person, session: SessionDep) -> Draft:
    """The person's report in progress."""
    return Draft(session, person.session.id, FLOW)


ReportDraft = Annotated[Draft, Depends(report_draft)]


async def loans_of(apis: PersonApis, person: Person) -> list[dict[str, Any]]:
    """The devices lent to the person's family now (the contracts they signed as borrower),
    each with the child's name when the child is theirs."""
    page = await apis.contracts.get("/api/v1/contracts", state="active", limit=50)
    children = {child.id: child for child in person.profile.children}
    loans = []
    for contract in page["items"]:
        child = children.get(contract["learner_id"])
        loans.append(
            {
                "device_id": contract["device_id"],
                "model": contract["device"].get("model") or "",
                "asset_tag": contract["device"].get("asset_tag") or "",
                "learner": f"{child.given_name} {child.family_name}" if child else "",
            }
        )
    return loans


def _redirect(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


async def _device_page(
    request: Request,
    apis: PersonApis,
    person: Person,
    answers: dict[str, Any],
    errors: FormErrors | None = None,
) -> Response:
    loans = await loans_of(apis, person)
    values = {"device": answers.get("device_id"), "asset_tag": answers.get("asset_tag")}
    return render_form(request, "families/report/device.html", errors, loans=loans, values=values)


@router.get(BASE)
async def start(person: Person) -> Response:
    """A report starts with the device (a report begun earlier keeps its answers)."""
    return _redirect(f"{BASE}/device")


@router.get(f"{BASE}/device")
async def device(
    request: Request, person: Person, apis: PersonApis, draft: ReportDraft
) -> Response:
    """Which device has the problem."""
    return await _device_page(request, apis, person, await draft.answers())


@router.post(f"{BASE}/device")
async def save_device(
    request: Request, person: Person, apis: PersonApis, draft: ReportDraft
) -> Response:
    """Keep the device and go on to the category."""
    form, errors = await read_form(request, DeviceForm)
    if form is not None and form.device is None and form.asset_tag is None:
        loans = await loans_of(apis, person)
        errors.add(
            "device" if loans else "asset_tag",
            DeviceForm.messages["device" if loans else "asset_tag"],
        )
    if form is None or errors:
        return await _device_page(request, apis, person, dict(await form_answers(request)), errors)
    label = form.asset_tag or ""
    if form.device is not None:
        lent = {loan["device_id"]: loan for loan in await loans_of(apis, person)}
        loan = lent.get(str(form.device))
        if loan is None:
            errors.add("device", DeviceForm.messages["device"])
            return await _device_page(request, apis, person, {}, errors)
        label = ", ".join(p for p in (loan["model"], loan["asset_tag"], loan["learner"]) if p)
    await draft.save(
        device_id=str(form.device) if form.device else None,
        asset_tag=None if form.device else form.asset_tag,
        device_label=label,
    )
    return _redirect(f"{BASE}/category")


async def form_answers(request: Request) -> dict[str, str]:
    """The device form's values as the draft keeps them (to show them again)."""
    form = await request.form()
    return {
        "device_id": str(form.get("device") or ""),
        "asset_tag": str(form.get("asset_tag") or ""),
    }


async def _answers_up_to(draft: Draft, step: str) -> dict[str, Any] | Response:
    """The answers so far, or a redirect to the first step not answered before `step`."""
    answers = await draft.answers()
    order = ["device", "category", "description", "photos", "check"]
    needed = {"device": ("device_id", "asset_tag"), "category": ("category",),
              "description": ("description",)}  # fmt: skip
    for earlier in order[: order.index(step)]:
        keys = needed.get(earlier, ())
        if keys and not any(answers.get(k) for k in keys):
            return _redirect(f"{BASE}/{earlier}")
    return answers


@router.get(f"{BASE}/category")
async def category(request: Request, draft: ReportDraft) -> Response:
    """What the problem is."""
    answers = await _answers_up_to(draft, "category")
    if isinstance(answers, Response):
        return answers
    return _category_page(request, answers.get("category"))


def _category_page(
    request: Request, chosen: str | None, errors: FormErrors | None = None
) -> Response:
    return render_form(
        request,
        "families/report/category.html",
        errors,
        categories=CATEGORIES,
        chosen=chosen,
    )


@router.post(f"{BASE}/category")
async def save_category(request: Request, draft: ReportDraft) -> Response:
    """Keep the category and go on to the description."""
    form, errors = await read_form(request, CategoryForm)
    if form is None:
        return _category_page(request, None, errors)
    await draft.save(category=form.category)
    return _redirect(f"{BASE}/description")


@router.get(f"{BASE}/description")
async def description(request: Request, draft: ReportDraft) -> Response:
    """What happened."""
    answers = await _answers_up_to(draft, "description")
    if isinstance(answers, Response):
        return answers
    return _description_page(request, answers.get("description") or "")


def _description_page(request: Request, text: str, errors: FormErrors | None = None) -> Response:
    return render_form(
        request,
        "families/report/description.html",
        errors,
        text=text,
    )


@router.post(f"{BASE}/description")
async def save_description(request: Request, draft: ReportDraft) -> Response:
    """Keep the description and go on to the photos."""
    form, errors = await read_form(request, DescriptionForm)
    if form is None:
        posted = (await request.form()).get("description")
        return _description_page(request, posted if isinstance(posted, str) else "", errors)
    await draft.save(description=form.description)
    return _redirect(f"{BASE}/photos")


@router.get(f"{BASE}/photos")
async def photos(request: Request, draft: ReportDraft, settings: Settings) -> Response:
    """Photos of the problem (optional)."""
    answers = await _answers_up_to(draft, "photos")
    if isinstance(answers, Response):
        return answers
    return await _photos_page(request, draft, settings)


async def _photos_page(
    request: Request, draft: Draft, settings: Settings, errors: FormErrors | None = None
) -> Response:
    return render_form(
        request,
        "families/report/photos.html",
        errors,
        photos=await draft.files(),
        max_count=settings.photo_max_count,
        max_mb=settings.photo_max_bytes // (1024 * 1024),
    )


def photo_errors(kind: str, filename: str, settings: Settings) -> FormErrors:
    """A refused photo's message at the photos field."""
    message = PHOTO_MESSAGES.get(kind, PHOTO_MESSAGES["invalid-photo"])
    params = {"file": filename or "?", "mb": settings.photo_max_bytes // (1024 * 1024),
              "count": settings.photo_max_count}  # fmt: skip
    return FormErrors().add("photos", message, **params)


@router.post(f"{BASE}/photos")
async def save_photos(request: Request, draft: ReportDraft, settings: Settings) -> Response:
    """Keep the chosen photos; then the answers to check (or this page again to add more)."""
    form = await request.form()
    files = chosen_files(form.getlist("photos"))
    if files:
        kept = len(await draft.files())
        if kept + len(files) > settings.photo_max_count:
            errors = photo_errors("too-many-photos", "", settings)
            return await _photos_page(request, draft, settings, errors)
        cleaned, refused = await clean_photos(files, max_bytes=settings.photo_max_bytes)
        if refused is not None:
            errors = photo_errors(refused.type, refused.filename, settings)
            return await _photos_page(request, draft, settings, errors)
        await draft.add_photos(cleaned)
    if form.get("action") == "add":
        if not files:
            return await _photos_page(
                request, draft, settings, FormErrors().add("photos", NO_PHOTO)
            )
        return _redirect(f"{BASE}/photos")
    return _redirect(f"{BASE}/check")


@router.post(f"{BASE}/photos/{{photo_id}}/remove")
async def remove_photo(photo_id: uuid.UUID, draft: ReportDraft) -> Response:
    """Forget one of the photos."""
    await draft.remove_file(photo_id)
    return _redirect(f"{BASE}/photos")


@router.get(f"{BASE}/check")
async def check(request: Request, draft: ReportDraft) -> Response:
    """Check your answers before sending the report."""
    answers = await _answers_up_to(draft, "check")
    if isinstance(answers, Response):
        return answers
    return render_page(
        request,
        "families/report/check.html",
        answers=answers,
        category_label=CATEGORIES.get(answers.get("category") or "", ""),
        photos=await draft.files(),
        form_key=new_form_key(),
    )


@router.post(f"{BASE}/check")
async def send(
    request: Request, person: Person, apis: PersonApis, draft: ReportDraft, settings: Settings
) -> Response:
    """Send the report to the tickets service, then its photos; the confirmation."""
    answers = await _answers_up_to(draft, "check")
    if isinstance(answers, Response):
        return answers
    body = {k: answers[k] for k in ("device_id", "asset_tag", "category", "description")
            if answers.get(k)}  # fmt: skip
    key = await posted_form_key(request)
    try:
        ticket = await apis.tickets.post("/api/v1/tickets", body, idempotency_key=key)
    except ApiProblem as problem:
        return await _refused(request, person, apis, draft, settings, problem)
    photos = await draft.contents()
    photos_refused = False
    if photos:
        files = [("photos", (p.filename, p.content, p.media_type)) for p in photos]
        try:
            await apis.tickets.post(
                f"/api/v1/tickets/{ticket['id']}/photos",
                files=files,
                idempotency_key=f"{key}-photos" if key else None,
            )
        except ApiProblem:
            photos_refused = True  # the report is in; its page lets them add photos again
    await draft.discard()
    suffix = "?photos=refused" if photos_refused else ""
    return _redirect(f"{BASE}/sent/{ticket['id']}{suffix}")


async def _refused(
    request: Request,
    person: Person,
    apis: PersonApis,
    draft: Draft,
    settings: Settings,
    problem: ApiProblem,
) -> Response:
    """The step whose answer the service refused, with its message at the field."""
    messages = {**DeviceForm.messages, **CategoryForm.messages, **DescriptionForm.messages}
    fields = {"device_id": "device", "/device_id": "device", "/asset_tag": "asset_tag"}
    errors = problem_errors(problem, messages, fields=fields, by_type=DEVICE_PROBLEMS)
    name = next(iter(errors.fields))
    answers = await draft.answers()
    if name == "form" and problem.status == 422:
        # A report the service cannot take as a whole (e.g. a police report for a loss): the
        # device step is where it starts again.
        errors = FormErrors().add("device", errors.fields["form"][0])
        name = "device"
    step = STEP_OF.get(name, "device")
    if step == "device":
        if name == "device" and not answers.get("device_id"):
            errors = FormErrors().add("asset_tag", errors.fields[name][0])
        return await _device_page(request, apis, person, answers, errors)
    if step == "category":
        return _category_page(request, answers.get("category"), errors)
    if step == "description":
        return _description_page(request, answers.get("description") or "", errors)
    return await _photos_page(request, draft, settings, errors)


@router.get(f"{BASE}/sent/{{ticket_id}}")
async def sent(request: Request, ticket_id: uuid.UUID, apis: PersonApis) -> Response:
    """The confirmation: the ticket's number and what happens next."""
    ticket = await apis.tickets.get(f"/api/v1/tickets/{ticket_id}")
    refused = request.query_params.get("photos") == "refused"
    return render_page(request, "families/report/sent.html", ticket=ticket, photos_refused=refused)
