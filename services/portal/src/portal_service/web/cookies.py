"""The portal's cookies: the session (HttpOnly, SameSite=Lax, Secure and `__Host-` in
production) and the language choice."""

from __future__ import annotations

from starlette.responses import Response

from portal_service.config import PortalSettings
from portal_service.i18n import Lang

LANG_MAX_AGE_S = 365 * 24 * 3600


def set_session_cookie(response: Response, settings: PortalSettings, value: str) -> None:
    """The session's id; no Max-Age (it ends with the browser; the server times it out)."""
    response.set_cookie(
        settings.session_cookie,
        value,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: PortalSettings) -> None:
    """Forget the session's id."""
    response.delete_cookie(
        settings.session_cookie,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )


def set_lang_cookie(response: Response, settings: PortalSettings, lang: Lang) -> None:
    """Remember the language for a year."""
    response.set_cookie(
        settings.lang_cookie,
        lang,
        max_age=LANG_MAX_AGE_S,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )
