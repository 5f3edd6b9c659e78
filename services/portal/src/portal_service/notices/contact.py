"""Contact details (`/settings/contact`): the person's e-mail address and mobile number with
their state; add or change one (the service sends a one-time code), enter the code, ask for a
new one, remove one. The address is the person's own: shown to them, never in a URL or log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import httpx
from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Person, PersonApis
from portal_service.notices.contact_forms import (
    ADDRESS_MESSAGES,
    AddressForm,
    CodeForm,
    address_errors,
    code_errors,
    point_view,
)
from portal_service.notices.labels import API, CHANNEL_NAMES
from portal_service.web.api import ApiProblem, ServiceApi
from portal_service.web.forms import FormErrors, read_form
from portal_service.web.pages import lang_of, page_router, render_form, render_page

router = page_router()
BASE = "/settings/contact"
Channel = Literal["email", "sms"]
ALREADY_VERIFIED = "already-verified"
CHANNEL_ORDER: tuple[Channel, ...] = ("email", "sms")


async def points_of(api: ServiceApi) -> dict[str, dict[str, Any]]:
    """The person's contact points by channel."""
    answer = await api.get(f"{API}/me/contact-points")
    return {p["channel"]: p for p in answer or [] if isinstance(p, dict) and "channel" in p}


async def _point(api: ServiceApi, channel: Channel) -> dict[str, Any] | None:
    point = (await points_of(api)).get(channel)
    return point_view(point, dt.datetime.now(dt.UTC))


async def _sending(
    api: ServiceApi, method: str, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    """A call that sends a code: the service's 503 (the code could not be sent) is a problem
    the page shows at the field, not an "unavailable" page."""
    answer = await api.request(method, path, json=body, allow=(503,))
    if answer.status_code == 503:
        raise ApiProblem.of(answer)
    return answer


def _to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get(BASE)
async def contact(
    request: Request,
    person: Person,
    apis: PersonApis,
    verified: Channel | None = None,
    unchanged: Channel | None = None,
    removed: Channel | None = None,
) -> Response:
    """Both contact points with their state, and what can be done with each."""
    points = await points_of(apis.notifications)
    now = dt.datetime.now(dt.UTC)
    rows = [(c, CHANNEL_NAMES[c], point_view(points.get(c), now)) for c in CHANNEL_ORDER]
    outcomes = {"verified": verified, "unchanged": unchanged, "removed": removed}
    done = next(((kind, c) for kind, c in outcomes.items() if c), None)
    return render_page(request, "notices/contact.html", rows=rows, done=done)


def _edit(
    request: Request,
    channel: Channel,
    point: dict[str, Any] | None,
    errors: FormErrors | None,
    value: str | None = None,
) -> Response:
    shown = (point or {}).get("address", "") if value is None else value
    return render_form(
        request, "notices/contact_edit.html", errors, channel=channel, point=point, value=shown
    )


@router.get(BASE + "/{channel}")
async def edit_page(
    request: Request, channel: Channel, person: Person, apis: PersonApis
) -> Response:
    """Add or change the e-mail address or the mobile number."""
    return _edit(request, channel, await _point(apis.notifications, channel), None)


@router.post(BASE + "/{channel}")
async def edit_post(
    request: Request, channel: Channel, person: Person, apis: PersonApis
) -> Response:
    """Send the address to the service: a new one gets a code; the same verified one is kept."""
    form, errors = await read_form(request, AddressForm)
    if form is None:
        typed = (await request.form()).get("address")
        errors = FormErrors().add("address", ADDRESS_MESSAGES[channel])
        point = await _point(apis.notifications, channel)
        return _edit(request, channel, point, errors, typed if isinstance(typed, str) else "")
    path = f"{API}/me/contact-points/{channel}"
    try:
        answer = await _sending(apis.notifications, "PUT", path, {"address": form.address})
    except ApiProblem as problem:
        point = await _point(apis.notifications, channel)
        return _edit(request, channel, point, address_errors(problem, channel), form.address)
    if answer.status_code == 200:  # the same address, already verified: nothing was sent
        return _to(f"{BASE}?unchanged={channel}")
    return _to(f"{BASE}/{channel}/code")


def _code_page(
    request: Request,
    channel: Channel,
    point: dict[str, Any],
    errors: FormErrors | None,
    sent: bool = False,
) -> Response:
    return render_form(
        request, "notices/contact_code.html", errors, channel=channel, point=point, sent=sent
    )


@router.get(BASE + "/{channel}/code")
async def code_page(
    request: Request, channel: Channel, person: Person, apis: PersonApis, sent: bool = False
) -> Response:
    """Enter the code we sent to the address (nothing to enter: back to the contact details)."""
    point = await _point(apis.notifications, channel)
    if point is None:
        return _to(f"{BASE}/{channel}")
    if point["verified"] and not point["pending"]:
        return _to(BASE)
    return _code_page(request, channel, point, None, sent)


@router.post(BASE + "/{channel}/code")
async def code_post(
    request: Request, channel: Channel, person: Person, apis: PersonApis
) -> Response:
    """Check the code with the service; a refusal is shown at the code field."""
    form, errors = await read_form(request, CodeForm)
    if form is not None:
        try:
            await apis.notifications.post(
                f"{API}/me/contact-points/{channel}/verify", {"code": form.code}
            )
        except ApiProblem as problem:
            if problem.type == ALREADY_VERIFIED:  # a second click, or another tab
                return _to(f"{BASE}?verified={channel}")
            errors = code_errors(problem, lang_of(request))
        else:
            return _to(f"{BASE}?verified={channel}")
    point = await _point(apis.notifications, channel)
    if point is None:
        return _to(f"{BASE}/{channel}")
    return _code_page(request, channel, point, errors)


@router.post(BASE + "/{channel}/resend")
async def resend(request: Request, channel: Channel, person: Person, apis: PersonApis) -> Response:
    """Ask the service for a new code (it may say it is too soon, or that it cannot send)."""
    path = f"{API}/me/contact-points/{channel}/resend"
    try:
        await _sending(apis.notifications, "POST", path)
    except ApiProblem as problem:
        point = await _point(apis.notifications, channel)
        if point is None:
            return _to(f"{BASE}/{channel}")
        if problem.type == ALREADY_VERIFIED:
            return _to(BASE)
        return _code_page(request, channel, point, code_errors(problem, lang_of(request)))
    return _to(f"{BASE}/{channel}/code?sent=true")


@router.get(BASE + "/{channel}/remove")
async def remove_page(
    request: Request, channel: Channel, person: Person, apis: PersonApis
) -> Response:
    """Are you sure? (a POST removes it)."""
    point = await _point(apis.notifications, channel)
    if point is None:
        return _to(BASE)
    return render_page(request, "notices/contact_remove.html", channel=channel, point=point)


@router.post(BASE + "/{channel}/remove")
async def remove_post(channel: Channel, person: Person, apis: PersonApis) -> Response:
    """Erase the address at the service (messages waiting for it are not sent)."""
    await apis.notifications.request("DELETE", f"{API}/me/contact-points/{channel}", allow=(404,))
    return _to(f"{BASE}?removed={channel}")
