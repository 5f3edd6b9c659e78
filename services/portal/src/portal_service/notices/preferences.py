"""Notification settings (`/settings/notifications`): the language of the messages and, per
kind the service lists for this person, whether it is on and by which channels. Essential kinds
are always on (the service says which); its refusals are shown at the kind's field.

The language switch in the header also tells the service (`tell_language`), quietly.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from portal_service import service
from portal_service.config import PortalSettings
from portal_service.deps import Person, PersonApis
from portal_service.exceptions import PortalError
from portal_service.i18n import N_, Lang
from portal_service.models import WebSession
from portal_service.notices.labels import API, AUDIENCES, CHANNELS, kind_label
from portal_service.web.api import ApiProblem, ServiceApi
from portal_service.web.forms import CHECK_ANSWER, FormErrors
from portal_service.web.gateway import GatewayClient
from portal_service.web.pages import page_router, render_form

logger = logging.getLogger(__name__)
router = page_router()
PATH = "/settings/notifications"
PREFERENCES = f"{API}/me/preferences"
ON = "on"
ESSENTIAL = N_(
    "You cannot turn these off: they are about your child's loan. Choose how you get them."
)
UNKNOWN_CHANNEL = N_("Choose e-mail, text message, or neither")
CHOOSE_LANGUAGE = N_("Choose the language of your notifications")
KIND_POINTER = re.compile(r"^/kinds/(\d+)(/.*)?$")


def groups(kinds: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The kinds by audience, in the page's order, each with its label."""
    by_audience: dict[str, list[dict[str, Any]]] = {}
    for kind in kinds:
        view = {**kind, "label": kind_label(str(kind["kind"]))}
        by_audience.setdefault(str(kind.get("audience") or "anyone"), []).append(view)
    order = [*AUDIENCES, *sorted(set(by_audience) - set(AUDIENCES))]
    return [(AUDIENCES.get(a, a), by_audience[a]) for a in order if a in by_audience]


def _page(
    request: Request, preferences: dict[str, Any], errors: FormErrors | None, saved: bool = False
) -> Response:
    return render_form(
        request,
        "notices/preferences.html",
        errors,
        language=preferences.get("language") or "lv",
        groups=groups(list(preferences.get("kinds") or [])),
        channels=CHANNELS,
        saved=saved,
    )


@router.get(PATH)
async def preferences_page(
    request: Request, person: Person, apis: PersonApis, saved: bool = False
) -> Response:
    """The person's notification settings."""
    return _page(request, await apis.notifications.get(PREFERENCES), None, saved)


def chosen(form: list[tuple[str, Any]], kinds: list[dict[str, Any]]) -> dict[str, Any]:
    """The posted form as the service's preferences (only the kinds the service listed)."""
    values: dict[str, list[str]] = {}
    for key, value in form:
        if isinstance(value, str):
            values.setdefault(key, []).append(value)
    update: dict[str, Any] = {
        "kinds": [
            {
                "kind": kind["kind"],
                "enabled": ON in values.get(kind["kind"], []),
                "channels": [v for v in values.get(kind["kind"], []) if v != ON],
            }
            for kind in kinds
        ]
    }
    language = values.get("language", [""])[0]
    if language:
        update["language"] = language
    return update


def preference_errors(problem: ApiProblem, sent: list[dict[str, Any]]) -> FormErrors:
    """The service's refusal at the field of the kind (or the language) it names."""
    errors = FormErrors()
    message = ESSENTIAL if problem.type == "essential-kind" else UNKNOWN_CHANNEL
    for error in problem.errors:
        match = KIND_POINTER.match(error.pointer)
        if match and int(match[1]) < len(sent):
            errors.add(sent[int(match[1])]["kind"], message)
        elif error.name == "language":
            errors.add("language", CHOOSE_LANGUAGE)
        else:
            errors.add("form", CHECK_ANSWER)
    named = problem.body.get("kind")
    if not errors and isinstance(named, str) and any(k["kind"] == named for k in sent):
        errors.add(named, message)
    return errors or FormErrors().add("form", CHECK_ANSWER)


@router.post(PATH)
async def preferences_post(request: Request, person: Person, apis: PersonApis) -> Response:
    """Save the settings; the service decides what may be turned off."""
    current = await apis.notifications.get(PREFERENCES)
    update = chosen((await request.form()).multi_items(), list(current.get("kinds") or []))
    try:
        await apis.notifications.put(PREFERENCES, update)
    except ApiProblem as problem:
        errors = preference_errors(problem, update["kinds"])
        return _page(request, {**current, **update, "kinds": _as_posted(current, update)}, errors)
    return RedirectResponse(f"{PATH}?saved=true", status_code=303)


def _as_posted(current: dict[str, Any], update: dict[str, Any]) -> list[dict[str, Any]]:
    """The listed kinds with what the person chose (a refused form keeps their choices)."""
    posted = {k["kind"]: k for k in update["kinds"]}
    return [{**k, **posted.get(k["kind"], {})} for k in current.get("kinds") or []]


async def tell_language(
    request: Request,
    *,
    session: AsyncSession,
    settings: PortalSettings,
    web: WebSession | None,
    gateway: GatewayClient,
    lang: Lang,
) -> None:
    """Tell the notifications service the language the person chose (a failure is ignored)."""
    if web is None or service.profile_of(web, settings) is None:
        return
    try:
        token = await service.access_token(
            session=session, settings=settings, row=web, gateway=gateway, next_path="/"
        )
        api = ServiceApi(request.app.state.http, "notifications", settings.notifications_url, token)
        timeout = httpx.Timeout(2.0)
        await api.request("PUT", PREFERENCES, json={"language": lang}, timeout=timeout)
    except (PortalError, ApiProblem) as exc:
        logger.info("notifications not told the language: %s", type(exc).__name__)
