"""Rendering a page: the layout's context (language, person, CSRF token, nonce) and routers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from portal_service.config import PortalSettings
from portal_service.i18n import Lang, as_lang
from portal_service.web.forms import FormErrors
from portal_service.web.gateway import Profile
from portal_service.web.unread import page_response


def lang_of(request: Request) -> Lang:
    """The language the person chose (a cookie), else Latvian."""
    settings: PortalSettings = request.app.state.settings
    return as_lang(request.cookies.get(settings.lang_cookie))


def here(request: Request) -> str:
    """The path and query of this request (where to come back to)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def render_page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page of the design system, in the person's language, with the layout's context."""
    lang = lang_of(request)
    other: Lang = "en" if lang == "lv" else "lv"
    web = getattr(request.state, "web_session", None)
    profile: Profile | None = getattr(request.state, "profile", None)
    base = {
        "lang": lang,
        "other_lang": other,
        "lang_href": f"/language/{other}?{urlencode({'next': here(request)})}",
        "csrf_token": web.csrf_token if web is not None else "",
        "profile": profile,
        "nonce": request.state.csp_nonce,
        "path": request.url.path,
        # A refused form's page title starts with "Error:" (the design system's pattern).
        "error_title": bool(context.get("errors")),
    }
    return page_response(request, lang, name, {**base, **context}, status)


def render_form(
    request: Request, name: str, errors: FormErrors | None, **context: Any
) -> HTMLResponse:
    """A page with a form: 400 with the form's messages when it was refused, else 200."""
    return render_page(request, name, 400 if errors else 200, errors=errors, **context)


def page_router(*guards: Any) -> APIRouter:
    """A router of pages: HTML, out of the OpenAPI document, every form CSRF-checked."""
    from portal_service.deps import check_csrf

    return APIRouter(
        include_in_schema=False,
        default_response_class=HTMLResponse,
        dependencies=[Depends(check_csrf), *guards],
    )
