"""The school's loan agreements: hand-over (the school countersigns what the family signed,
then the device is on loan), the printable agreement, loans on the go and their returns."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from portal_service.deps import PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_, translations
from portal_service.schools.common import (
    CONTRACTS,
    PAGE_SIZE,
    School,
    SchoolPath,
    not_found_on_refusal,
    pages,
    render_school,
    school_name,
    together,
)
from portal_service.schools.forms import CountersignForm, ReturnForm
from portal_service.schools.models import Consent, Contract, Document, ReturnRecord
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import (
    FormErrors,
    form_values,
    posted_form_key,
    problem_errors,
    read_form,
)
from portal_service.web.pages import lang_of, page_router

router = page_router()

Cursor = Annotated[str | None, Query(max_length=500)]
Outcome = Literal["handed_over", "returned"]
STALE = N_("Someone changed this agreement while you were looking at it. Check it and try again.")
COUNTERSIGN_PROBLEMS = {
    "borrower-has-not-signed": ("form", N_("The family has not signed the agreement yet.")),
    "already-signed": ("form", N_("The school has already signed this agreement.")),
    "illegal-state": ("form", N_("This agreement can no longer be signed.")),
    "device-out-of-service": (
        "form",
        N_(
            "This device cannot be handed over: the inventory lists it as in repair, lost or "
            "at another school. The reservation will get another device and a new agreement."
        ),
    ),
    "superseded-version": (
        "form",
        N_("A newer version of the agreement exists. Read it again before you sign."),
    ),
    "consent-outdated": ("form", N_("The consent text has changed. Read it again.")),
    "unknown-document": ("form", N_("A newer version of the agreement exists.")),
    "precondition-failed": ("form", STALE),
}
PHOTO_PROBLEMS = ("invalid-photo", "unreadable-photo", "photo-dimensions-too-large")
RETURN_PROBLEMS = {
    **{kind: ("photos", ReturnForm.messages["photos"]) for kind in PHOTO_PROBLEMS},
    "payload-too-large": ("photos", ReturnForm.messages["photos"]),
    "too-many-photos": ("photos", ReturnForm.messages["photos"]),
    "illegal-state": ("form", N_("This loan's return has already been recorded.")),
    "precondition-failed": ("form", STALE),
}
RETURNED_ACCESSORIES = N_("Accessories returned: %(list)s")
MISSING_ACCESSORIES = N_("Accessories not returned: %(list)s")


async def _contracts(apis: PersonApis, school: SchoolPath, state: str, **params: Any) -> Any:
    return await apis.contracts.get(
        CONTRACTS, institution=school.number, state=state, limit=PAGE_SIZE, **params
    )


@router.get("/schools/{number}/handovers")
async def handovers(
    request: Request, school: School, apis: PersonApis, cursor: Cursor = None
) -> Response:
    """Agreements the family has signed (ready to hand over), and those still waiting for them."""
    name, ready, waiting = await together(
        school_name(apis, school.number),
        _contracts(apis, school, "awaiting_lender", cursor=cursor),
        _contracts(apis, school, "awaiting_borrower"),
    )
    return render_school(
        request,
        "handovers.html",
        school,
        name,
        ready=[Contract.model_validate(c) for c in ready["items"]],
        waiting=[Contract.model_validate(c) for c in waiting["items"]],
        more_waiting=bool(waiting.get("next_cursor")),
        links=pages(request, ready.get("next_cursor")),
    )


@router.get("/schools/{number}/loans")
async def loans(
    request: Request, school: School, apis: PersonApis, cursor: Cursor = None
) -> Response:
    """Devices on loan from the school: where a return is recorded."""
    name, page = await together(
        school_name(apis, school.number), _contracts(apis, school, "active", cursor=cursor)
    )
    return render_school(
        request,
        "loans.html",
        school,
        name,
        loans=[Contract.model_validate(c) for c in page["items"]],
        links=pages(request, page.get("next_cursor")),
    )


async def _contract(apis: PersonApis, school: SchoolPath, contract_id: uuid.UUID) -> Contract:
    contract = Contract.model_validate(await apis.contracts.get(f"{CONTRACTS}/{contract_id}"))
    if contract.institution_number != school.number:
        raise PageNotFound("an agreement of another school")
    return contract


async def _agreement_page(
    request: Request,
    school: SchoolPath,
    apis: PersonApis,
    contract_id: uuid.UUID,
    errors: FormErrors | None = None,
    outcome: str | None = None,
) -> Response:
    path = f"{CONTRACTS}/{contract_id}"
    name, contract, consent, documents = await together(
        school_name(apis, school.number),
        _contract(apis, school, contract_id),
        apis.contracts.get(f"{CONTRACTS}/consent"),
        apis.contracts.get(f"{path}/documents"),
    )
    returned = None
    if contract.state == "returned":
        returned = ReturnRecord.model_validate(await apis.contracts.get(f"{path}/return"))
    signed = [Document.model_validate(d) for d in documents]
    return render_school(
        request,
        "agreement.html",
        school,
        name,
        status=422 if errors else 200,
        contract=contract,
        consent=Consent.model_validate(consent),
        document=signed[-1] if signed else None,
        returned=returned,
        errors=errors,
        outcome=outcome,
        form_key=new_form_key(),
    )


@router.get("/schools/{number}/agreements/{contract_id}")
async def agreement(
    request: Request,
    school: School,
    apis: PersonApis,
    contract_id: uuid.UUID,
    outcome: Outcome | None = None,
) -> Response:
    """An agreement: its parties, device and period, its signatures, and the next step."""
    return await _agreement_page(request, school, apis, contract_id, outcome=outcome)


@router.get("/schools/{number}/agreements/{contract_id}/agreement.pdf")
async def agreement_pdf(school: School, apis: PersonApis, contract_id: uuid.UUID) -> Response:
    """The agreement's current PDF, fetched with the administrator's own token."""
    contract = await _contract(apis, school, contract_id)
    answer = await apis.contracts.download(f"{CONTRACTS}/{contract_id}/pdf")
    return Response(
        answer.content,
        media_type="application/pdf",
        headers={
            # It carries the borrower's personal code: kept by no cache on the way.
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'inline; filename="{contract.number}.pdf"',
        },
    )


@router.post("/schools/{number}/agreements/{contract_id}/countersign")
async def countersign(
    request: Request, school: School, apis: PersonApis, contract_id: uuid.UUID
) -> Response:
    """The school signs the version the family signed; the contracts service activates it."""
    form, errors = await read_form(request, CountersignForm)
    if form is not None:
        body = {"document_sha256": form.document, "consent_version": form.consent_version}
        try:
            await apis.contracts.post(
                f"{CONTRACTS}/{contract_id}/countersign",
                json=body,
                idempotency_key=await posted_form_key(request),
                if_match=f'"{form.version}"' if form.version is not None else None,
            )
        except ApiProblem as problem:
            not_found_on_refusal(problem)
            errors = problem_errors(
                problem,
                CountersignForm.messages,
                fields={"document_sha256": "form", "consent_version": "form"},
                by_type=COUNTERSIGN_PROBLEMS,
            )
        else:
            return RedirectResponse(
                f"{school.base}/agreements/{contract_id}?outcome=handed_over", status_code=303
            )
    return await _agreement_page(request, school, apis, contract_id, errors)


async def _return_page(
    request: Request,
    school: SchoolPath,
    apis: PersonApis,
    contract_id: uuid.UUID,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    name, contract = await together(
        school_name(apis, school.number), _contract(apis, school, contract_id)
    )
    if contract.state != "active":
        return RedirectResponse(f"{school.base}/agreements/{contract_id}", status_code=303)
    return render_school(
        request,
        "return.html",
        school,
        name,
        status=422 if errors else 200,
        contract=contract,
        errors=errors,
        values=values or {},
        form_key=new_form_key(),
    )


@router.get("/schools/{number}/agreements/{contract_id}/return")
async def return_form(
    request: Request, school: School, apis: PersonApis, contract_id: uuid.UUID
) -> Response:
    """Record a return: the condition, what came back with it, notes and photos."""
    return await _return_page(request, school, apis, contract_id)


def _notes(request: Request, form: ReturnForm, lent: list[str], back: list[str]) -> str | None:
    """The notes the contracts service keeps: the person's own, and which accessories came
    back and which did not (in the person's language, as they would write it)."""
    gettext = translations(lang_of(request)).gettext
    lines = [form.notes] if form.notes else []
    returned = [a for a in lent if a in back]
    missing = [a for a in lent if a not in back]
    if returned:
        lines.append(gettext(RETURNED_ACCESSORIES) % {"list": ", ".join(returned)})
    if missing:
        lines.append(gettext(MISSING_ACCESSORIES) % {"list": ", ".join(missing)})
    return "\n".join(lines) or None


async def _photos(request: Request) -> list[tuple[str, tuple[str, bytes, str]]]:
    """The chosen photos as multipart parts (an empty file input sends an empty part)."""
    parts = []
    for item in (await request.form()).getlist("photos"):
        if isinstance(item, UploadFile) and item.filename:
            content = await item.read()
            if content:
                kind = item.content_type or "application/octet-stream"
                parts.append(("photos", (item.filename, content, kind)))
    return parts


@router.post("/schools/{number}/agreements/{contract_id}/return")
async def record_return(
    request: Request, school: School, apis: PersonApis, contract_id: uuid.UUID
) -> Response:
    """Send the return to the contracts service; "damaged" opens a repair ticket there."""
    form, errors = await read_form(request, ReturnForm)
    values: dict[str, Any] = await form_values(request)
    back = [str(a) for a in (await request.form()).getlist("accessories")]
    values["accessories"] = back
    if form is not None:
        contract = await _contract(apis, school, contract_id)
        data = {"condition": form.condition}
        notes = _notes(request, form, contract.accessories, back)
        if notes:
            data["notes"] = notes
        try:
            await apis.contracts.post(
                f"{CONTRACTS}/{contract_id}/return",
                data=data,
                files=await _photos(request) or None,
                idempotency_key=await posted_form_key(request),
                if_match=f'"{form.version}"' if form.version is not None else None,
            )
        except ApiProblem as problem:
            not_found_on_refusal(problem)
            errors = problem_errors(problem, ReturnForm.messages, by_type=RETURN_PROBLEMS)
        else:
            return RedirectResponse(
                f"{school.base}/agreements/{contract_id}?outcome=returned", status_code=303
            )
    return await _return_page(request, school, apis, contract_id, errors, values)
