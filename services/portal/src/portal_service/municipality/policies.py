"""The municipality's rules (`/municipality/<code>/policies`): how reservations are decided
and how long they may last (the reservations service's policy), and the support's response and
resolution targets per severity (the tickets service's SLA policy); each changed in a form
that saves with If-Match (see `editing.py`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis, PersonApis
from portal_service.municipality.common import RESERVATIONS, TICKETS, Municipality
from portal_service.municipality.console import render_console
from portal_service.municipality.editing import (
    Conflict,
    Refusal,
    form_errors,
    if_match,
    save,
    words,
)
from portal_service.municipality.policy_forms import (
    RESERVATION_LABELS,
    SLA_LABELS,
    ReservationPolicyForm,
    SlaForm,
    describe_reservations,
    describe_sla,
    reservation_editing,
    reservation_values,
    sla_editing,
    sla_values,
)
from portal_service.web.forms import FormErrors, form_values, read_form
from portal_service.web.labels import SEVERITIES
from portal_service.web.pages import lang_of, page_router

router = page_router()
SECTION = "/policies"
Severity = Literal["critical", "high", "normal", "low"]


def _reservation_path(code: str) -> str:
    return f"{RESERVATIONS}/policies/{code}"


def _sla_path(code: str) -> str:
    return f"{TICKETS}/sla-policies/{code}"


async def _sla_of(apis: Apis, code: str, severity: str) -> dict[str, Any]:
    policies = await apis.tickets.get(_sla_path(code))
    return next(p for p in policies if p.get("severity") == severity)


@router.get("/municipality/{code}/policies")
async def policies(
    request: Request, municipality: Municipality, apis: PersonApis, saved: str | None = None
) -> Response:
    """Both policies in words, each with its "Change" links."""
    lang, said = lang_of(request), words(request)
    reservations = await apis.reservations.get(_reservation_path(municipality.code))
    sla = await apis.tickets.get(_sla_path(municipality.code))
    return await render_console(
        request,
        municipality,
        apis,
        "municipality/policies.html",
        SECTION,
        reservations=describe_reservations(reservations, said, lang),
        reservation_labels=RESERVATION_LABELS,
        defaults=reservations.get("version") == 0,
        sla=[(p["severity"], describe_sla(p, lang), p.get("version") == 0) for p in sla],
        sla_labels=SLA_LABELS,
        severities=SEVERITIES,
        saved=saved if saved in ("reservations", *SEVERITIES) else None,
    )


@router.get("/municipality/{code}/policies/sla")
async def sla_overview(municipality: Municipality) -> Response:
    """The SLA targets are on the rules' page."""
    return RedirectResponse(f"{municipality.base}/policies#sla", status_code=303)


async def _reservation_form(
    request: Request,
    municipality: Municipality,
    apis: Apis,
    values: dict[str, str],
    errors: FormErrors | None = None,
    conflict: Conflict | None = None,
) -> Response:
    return await render_console(
        request,
        municipality,
        apis,
        "municipality/policy_reservations.html",
        SECTION,
        errors,
        values=values,
        conflict=conflict,
    )


@router.get("/municipality/{code}/policies/reservations")
async def reservations_form(
    request: Request, municipality: Municipality, apis: PersonApis
) -> Response:
    """The reservation policy's form, filled in with the saved policy."""
    policy = await apis.reservations.get(_reservation_path(municipality.code))
    return await _reservation_form(request, municipality, apis, reservation_values(policy))


@router.post("/municipality/{code}/policies/reservations")
async def reservations_save(
    request: Request, municipality: Municipality, apis: PersonApis
) -> Response:
    """Replace the policy over the version the form was read at."""
    editing = reservation_editing(words(request), lang_of(request))
    form, errors = await read_form(request, ReservationPolicyForm)
    values = await form_values(request)
    if form is None:
        return await _reservation_form(
            request, municipality, apis, values, form_errors(errors, editing)
        )
    path = _reservation_path(municipality.code)
    send = apis.reservations.put(path, form.body(), if_match=if_match(form.version))
    refused = await save(
        send,
        editing,
        yours=form.body(),
        current=lambda: apis.reservations.get(path),
        keep_href=f"{municipality.base}/policies",
    )
    if refused is None:
        return _saved(municipality, "reservations")
    return await _reservation_form(
        request, municipality, apis, _after(values, refused), refused.errors, refused.conflict
    )


def _after(values: dict[str, str], refused: Refusal) -> dict[str, str]:
    """The person's values, over the saved version after a conflict."""
    return values if refused.version is None else values | {"version": str(refused.version)}


def _saved(municipality: Municipality, what: str) -> Response:
    return RedirectResponse(f"{municipality.base}/policies?saved={what}", status_code=303)


async def _sla_form(
    request: Request,
    municipality: Municipality,
    apis: Apis,
    severity: Severity,
    values: dict[str, str],
    errors: FormErrors | None = None,
    conflict: Conflict | None = None,
) -> Response:
    return await render_console(
        request,
        municipality,
        apis,
        "municipality/policy_sla.html",
        SECTION,
        errors,
        severity=severity,
        severity_label=SEVERITIES[severity],
        values=values,
        conflict=conflict,
    )


@router.get("/municipality/{code}/policies/sla/{severity}")
async def sla_form(
    request: Request, municipality: Municipality, apis: PersonApis, severity: Severity
) -> Response:
    """One severity's targets, filled in with the saved ones."""
    policy = await _sla_of(apis, municipality.code, severity)
    return await _sla_form(request, municipality, apis, severity, sla_values(policy))


@router.post("/municipality/{code}/policies/sla/{severity}")
async def sla_save(
    request: Request, municipality: Municipality, apis: PersonApis, severity: Severity
) -> Response:
    """Replace one severity's targets over the version the form was read at."""
    editing = sla_editing(lang_of(request))
    form, errors = await read_form(request, SlaForm)
    values = await form_values(request)
    if form is None:
        return await _sla_form(
            request, municipality, apis, severity, values, form_errors(errors, editing)
        )
    path = f"{_sla_path(municipality.code)}/{severity}"
    refused = await save(
        apis.tickets.put(path, form.body(), if_match=if_match(form.version)),
        editing,
        yours=form.body(),
        current=lambda: _sla_of(apis, municipality.code, severity),
        keep_href=f"{municipality.base}/policies#sla",
    )
    if refused is None:
        return _saved(municipality, severity)
    values = _after(values, refused)
    return await _sla_form(
        request, municipality, apis, severity, values, refused.errors, refused.conflict
    )
