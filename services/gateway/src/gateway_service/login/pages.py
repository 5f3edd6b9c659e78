"""The login's pages a person can meet: the provider choice and the login and logout errors.

They are pages of the platform's design system (the kit's `design/base.html`, as the portal's
are), wholly in the language asked for: Latvian by default, English offered, every word from
the gateway's gettext catalogues. An error page says what went wrong by problem type, never the
problem's (English) title or detail, which stay in problem+json.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from jinja2 import Environment

from shared_kit import design
from shared_kit.design.i18n import LANGS, N_, Lang

__all__ = ["FALLBACK", "HINTS", "LANGS", "PROBLEMS", "STATIC_URL", "Kind", "Lang"]

Kind = Literal["login", "logout"]
HERE = Path(__file__).parent
TRANSLATIONS = HERE.parent / "translations"
# Where the gateway serves the design system's files: under /login, which the ingress already
# routes to it (the portal has its own /static on its own host).
STATIC_URL = "/login/static"

# How each provider proves who the person is, under its button.
HINTS = {
    "Latvija.lv": N_("With an eID card, eParaksts mobile or an internet bank"),
    "E-klase": N_("With your E-klase account"),
    "Mykoob": N_("With your Mykoob account"),
}
# What went wrong, by problem type.
PROBLEMS: dict[str, str] = {
    "return-to-not-allowed": N_("The application you started from is not known to this platform."),
    "invalid-login-request": N_("The login request is not valid."),
    "invalid-login-state": N_("This login is unknown, has expired or was already completed."),
    "login-cancelled": N_("You cancelled the login at the identity provider."),
    "login-refused": N_("The identity provider did not log you in."),
    "invalid-login-response": N_("The identity provider's answer cannot be accepted."),
    "identity-provider-failed": N_(
        "The identity provider is not answering as it should. Try again later."
    ),
    "school-mismatch": N_(
        "The school the identity provider names does not match VIIS. "
        "Ask the school to correct its records."
    ),
    "viis-unavailable": N_("VIIS cannot be reached right now. Try again later."),
    "unknown-identity-provider": N_("There is no such identity provider."),
    "too-many-requests": N_("Too many attempts from this address. Wait a moment."),
    "invalid-logout-request": N_("The logout request is not valid."),
    "invalid-logout-state": N_("This logout is unknown, has expired or was already finished."),
}
# For a problem type the catalogue does not name: by status class.
FALLBACK: dict[int, str] = {
    4: N_("The request is not valid."),
    5: N_("Something went wrong. Try again later."),
}


@cache
def environment(lang: Lang) -> Environment:
    """The login's templates in one language."""
    return design.environment(lang, TRANSLATIONS, {"login": HERE / "templates"})


def warm_up() -> None:
    """Load both catalogues at start (a broken `.po` fails the start, not a page)."""
    for lang in LANGS:
        environment(lang)


def _render(name: str, lang: Lang, nonce: str, portal_url: str, **context: object) -> str:
    page = environment(lang).get_template(f"login/{name}")
    portal = portal_url.rstrip("/")
    return page.render(lang=lang, nonce=nonce, portal_url=portal, static=STATIC_URL, **context)


def choice_page(
    lang: Lang,
    links: dict[str, str],
    other_lang_href: str,
    *,
    nonce: str = "",
    portal_url: str = "/",
) -> str:
    """The provider-choice page; `links` maps a provider's label to its URL."""
    choices = [(label, href, HINTS.get(label)) for label, href in links.items()]
    other = "en" if lang == "lv" else "lv"
    return _render(
        "choice.html",
        lang,
        nonce,
        portal_url,
        choices=choices,
        lang_href=other_lang_href,
        other_lang=other,
    )


def problem_message(problem_type: str, status: int) -> str:
    """What went wrong (the catalogue's message id; the page translates it)."""
    return PROBLEMS.get(problem_type) or FALLBACK[5 if status >= 500 else 4]


def error_page(
    lang: Lang,
    status: int,
    problem_type: str,
    kind: Kind = "login",
    *,
    nonce: str = "",
    portal_url: str = "/",
) -> str:
    """A failed login or logout, explained: what went wrong, its code, then what to do."""
    message = problem_message(problem_type, status)
    return _render("error.html", lang, nonce, portal_url, kind=kind, status=status, message=message)
