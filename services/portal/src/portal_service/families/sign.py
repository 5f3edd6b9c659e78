"""Families: the loan agreements (pages under `/families/contracts`).

The guardian reads the agreement (its main terms, then its whole text in the page, in the
person's language, and both languages in the PDF), consents and signs; the contracts service
decides whether the login is strong and recent enough, and when it is not the person logs in
again through Latvija.lv (a step-up of the same person) and comes straight back here. Then the
school countersigns at hand-over, and the sealed PDF is here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlencode

from babel.numbers import format_currency
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import Field

from portal_service.deps import Apis, Person, PersonApis, SignedIn
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_, RIGA
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import (
    Form,
    FormErrors,
    posted_form_key,
    problem_errors,
    read_form,
)
from portal_service.web.pages import lang_of, page_router, render_form, render_page
from shared_kit.downloads import file_response

router = page_router()
API = "/api/v1/contracts"
BASE = "/families/contracts"
# The contracts service's answers that mean: log in again, stronger or more recently.
STEP_UP = {"login-too-weak": "weak", "login-too-old": "old"}
CHANGED = N_("The agreement has changed since you opened it. Read it again and sign.")
# Problems of signing the page can explain, at the consent box.
BY_TYPE: dict[str, tuple[str, str]] = {
    "superseded-version": ("consent", CHANGED),
    "consent-outdated": ("consent", CHANGED),
    "unknown-document": ("consent", CHANGED),
    "contract-not-ready": (
        "consent",
        N_("The school has not finished preparing the agreement yet. Try again later."),
    ),
    "illegal-state": ("consent", N_("This agreement can no longer be signed.")),
    "not-the-borrower": (
        "consent",
        N_("Only the parent or guardian named in the agreement can sign it."),
    ),
}


class SignForm(Form):
    """The consent to the version the person read."""

    consent: Literal["yes"]
    document_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    consent_version: str = Field(min_length=1, max_length=40)
    messages = {
        "consent": N_("Tick the box to confirm that you have read the agreement and agree to it"),
        "document_sha256": CHANGED,
        "consent_version": CHANGED,
    }


@router.get(BASE)
async def contracts_list(request: Request, person: Person, apis: PersonApis) -> Response:
    """The person's loan agreements, newest first."""
    page = await apis.contracts.get(API, limit=100)
    items = sorted(page["items"], key=lambda c: c["drafted_at"], reverse=True)
    shown = [_terms(c, request, person) for c in items]
    return render_page(request, "families/sign/list.html", contracts=shown)


@router.get(BASE + "/{contract_id}")
async def contract_page(
    request: Request, contract_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """One agreement: to read and sign, waiting for the school, or signed and sealed."""
    return await _agreement(request, person, apis, contract_id)


@router.post(BASE + "/{contract_id}/sign")
async def sign(
    request: Request, contract_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """Sign the version the person read; a login too weak or too old goes to the step-up."""
    form, errors = await read_form(request, SignForm)
    if form is not None:
        body = form.model_dump(exclude={"consent"})
        key = await posted_form_key(request)
        try:
            await apis.contracts.post(f"{API}/{contract_id}/sign", body, idempotency_key=key)
        except ApiProblem as problem:
            if problem.type in STEP_UP:
                query = urlencode({"reason": STEP_UP[problem.type]})
                return _see(f"{BASE}/{contract_id}/log-in?{query}")
            if problem.type == "already-signed":
                return _see(f"{BASE}/{contract_id}")
            if problem.status == 404:
                raise PageNotFound(f"contracts answered {problem.type}") from None
            errors = problem_errors(problem, SignForm.messages, by_type=BY_TYPE)
        else:
            return _see(f"{BASE}/{contract_id}/signed")
    errors.anchors["document_sha256"] = errors.anchors["consent_version"] = "consent"
    return await _agreement(request, person, apis, contract_id, errors=errors)


@router.get(BASE + "/{contract_id}/log-in")
async def strong_login(
    request: Request, contract_id: uuid.UUID, apis: PersonApis, reason: str = "weak"
) -> Response:
    """Why the person logs in again through Latvija.lv, and the way there and back."""
    contract = await apis.contracts.get(f"{API}/{contract_id}")
    back = f"{BASE}/{contract_id}"
    query = urlencode({"next": back, "step_up": "true"})
    return render_page(
        request,
        "families/sign/strong_login.html",
        contract=contract,
        too_old=reason == "old",
        login_href=f"/login/latvija?{query}",
        back_href=back,
    )


@router.get(BASE + "/{contract_id}/signed")
async def signed(
    request: Request, contract_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """The confirmation: signed, and what happens next (the school countersigns)."""
    contract = await apis.contracts.get(f"{API}/{contract_id}")
    if contract["borrower_signed_at"] is None:
        return _see(f"{BASE}/{contract_id}")
    shown = _terms(contract, request, person)
    return render_page(request, "families/sign/signed.html", contract=shown)


@router.get(BASE + "/{contract_id}/agreement.pdf")
async def agreement_pdf(contract_id: uuid.UUID, apis: PersonApis) -> Response:
    """The agreement's current PDF (sealed once both have signed), with the person's token."""
    contract = await apis.contracts.get(f"{API}/{contract_id}")
    answer = await apis.contracts.download(f"{API}/{contract_id}/pdf")
    if answer.headers.get("content-type", "").split(";")[0] != "application/pdf":
        raise PageNotFound("the contracts service sent no PDF")
    return file_response(
        answer.content,
        media_type="application/pdf",
        filename=f"{contract['number']}.pdf",
        headers={"Cache-Control": "private, no-store"},
    )


async def _agreement(
    request: Request,
    person: SignedIn,
    apis: Apis,
    contract_id: uuid.UUID,
    errors: FormErrors | None = None,
) -> Response:
    contract = await apis.contracts.get(f"{API}/{contract_id}")
    context: dict[str, Any] = {"contract": _terms(contract, request, person)}
    if contract["state"] == "awaiting_borrower":
        documents = await apis.contracts.get(f"{API}/{contract_id}/documents")
        document = next(d for d in documents if d["current"])
        consent = await apis.contracts.get(f"{API}/consent")
        context |= {
            "document": document,
            "agreement": await _agreement_text(apis, contract_id, document, lang_of(request)),
            "consent": consent,
            "consent_text": consent["en" if lang_of(request) == "en" else "lv"],
            "form_key": new_form_key(),
        }
    return render_form(request, "families/sign/contract.html", errors, **context)


async def _agreement_text(
    apis: Apis, contract_id: uuid.UUID, document: dict[str, Any], lang: str
) -> dict[str, Any] | None:
    """The text of the version to sign in the person's language (the Latvian text prevails,
    and says so), or None when only its PDF has it; then the page offers the PDF alone."""
    path = f"{API}/{contract_id}/documents/{document['number']}/text"
    try:
        answer = await apis.contracts.get(path)
    except ApiProblem as problem:
        if problem.type == "text-unavailable":
            return None
        raise
    texts = {text["lang"]: text for text in answer["texts"]}
    text = dict(texts.get(lang) or texts["lv"])
    text["parties"] = [{**p, "rows": _rows(p["details"])} for p in text["parties"]]
    text["device_rows"] = _rows(text["device"])
    return text


def _rows(details: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Labelled values as a summary list's rows."""
    return [{"key": {"text": d["label"]}, "value": {"text": d["value"]}} for d in details]


def _see(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def _terms(contract: dict[str, Any], request: Request, person: SignedIn) -> dict[str, Any]:
    """The contract as the pages show it: the child by name (from the person's own profile),
    dates parsed, the loan's last day, the value in the person's language."""
    times = ("period_start", "period_end", "sign_by", "borrower_signed_at", "lender_signed_at")
    shown = dict(contract)
    for name in (*times, "activated_at"):
        value = contract.get(name)
        shown[name] = dt.datetime.fromisoformat(value) if value else None
    shown["last_day"] = _last_day(shown["period_end"])
    children = {c.id: f"{c.given_name} {c.family_name}" for c in person.profile.children}
    shown["learner"] = children.get(contract["learner_id"], contract["learner"])
    device = dict(contract.get("device") or {})
    device["value_text"] = _money(device.get("value"), lang_of(request))
    insured = device.get("insured_until")
    device["insured_until"] = dt.date.fromisoformat(insured) if insured else None
    shown["device"] = device
    return shown


def _last_day(end: dt.datetime) -> dt.date | None:
    """The loan's last whole day as the agreement prints it: the period ends exclusively, so an
    end at Riga midnight means the day before; None when it ends during a day."""
    local = end.astimezone(RIGA)
    return local.date() - dt.timedelta(days=1) if local.time() == dt.time(0) else None


def _money(value: Any, lang: str) -> str | None:
    try:
        amount = Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None
    return None if amount is None else format_currency(amount, "EUR", locale=lang)
