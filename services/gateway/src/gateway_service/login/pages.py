"""Plain, accessible HTML pages of the login: the provider choice and errors, in lv and en.

Every word on a page is in the page's language: an error page says what went wrong from this
catalogue, by problem type, never the problem's (English) title or detail.
"""

from __future__ import annotations

from html import escape
from typing import Literal

Lang = Literal["lv", "en"]
Kind = Literal["login", "logout"]
LANGS: tuple[Lang, ...] = ("lv", "en")

TEXT = {
    "lv": {
        "title": "Pieteikšanās",
        "choose": "Izvēlieties, kā pieteikties",
        "with": "Pieteikties ar",
        "other": "English",
        "error": "Pieteikšanās neizdevās",
        "again": "Mēģiniet vēlreiz no lietotnes, kurā sākāt.",
        "logout_error": "Izrakstīšanās netika pabeigta",
        "logout_again": "Aizveriet pārlūkprogrammu, lai visas sesijas noteikti beigtos.",
        "code": "Kļūdas kods",
    },
    "en": {
        "title": "Log in",
        "choose": "Choose how to log in",
        "with": "Log in with",
        "other": "Latviski",
        "error": "The login did not succeed",
        "again": "Try again from the application where you started.",
        "logout_error": "The logout did not finish",
        "logout_again": "Close the browser to be sure that every session has ended.",
        "code": "Error code",
    },
}

# What went wrong, by problem type (lv, en).
PROBLEMS: dict[str, tuple[str, str]] = {
    "return-to-not-allowed": (
        "Lietotne, no kuras sākāt, šai platformai nav zināma.",
        "The application you started from is not known to this platform.",
    ),
    "invalid-login-request": (
        "Pieteikšanās pieprasījums nav derīgs.",
        "The login request is not valid.",
    ),
    "invalid-login-state": (
        "Šī pieteikšanās nav zināma, tās laiks ir beidzies, vai tā jau ir pabeigta.",
        "This login is unknown, has expired or was already completed.",
    ),
    "login-cancelled": (
        "Jūs atcēlāt pieteikšanos identitātes nodrošinātāja lapā.",
        "You cancelled the login at the identity provider.",
    ),
    "login-refused": (
        "Identitātes nodrošinātājs atteica pieteikšanos.",
        "The identity provider did not log you in.",
    ),
    "invalid-login-response": (
        "Identitātes nodrošinātāja atbildi nevar pieņemt.",
        "The identity provider's answer cannot be accepted.",
    ),
    "identity-provider-failed": (
        "Identitātes nodrošinātājs pašlaik neatbild, kā vajadzētu. Mēģiniet vēlāk.",
        "The identity provider is not answering as it should. Try again later.",
    ),
    "school-mismatch": (
        "Identitātes nodrošinātāja norādītā skola neatbilst VIIS datiem. "
        "Lūdziet skolai izlabot datus.",
        "The school the identity provider names does not match VIIS. "
        "Ask the school to correct its records.",
    ),
    "viis-unavailable": (
        "VIIS pašlaik nav sasniedzama. Mēģiniet vēlāk.",
        "VIIS cannot be reached right now. Try again later.",
    ),
    "unknown-identity-provider": (
        "Šāda identitātes nodrošinātāja nav.",
        "There is no such identity provider.",
    ),
    "too-many-requests": (
        "Pārāk daudz mēģinājumu no šīs adreses. Pagaidiet brīdi.",
        "Too many attempts from this address. Wait a moment.",
    ),
    "invalid-logout-request": (
        "Izrakstīšanās pieprasījums nav derīgs.",
        "The logout request is not valid.",
    ),
    "invalid-logout-state": (
        "Šī izrakstīšanās nav zināma, tās laiks ir beidzies, vai tā jau ir pabeigta.",
        "This logout is unknown, has expired or was already finished.",
    ),
}
# For a problem type the catalogue does not name: by status class.
FALLBACK: dict[int, tuple[str, str]] = {
    4: ("Pieprasījums nav derīgs.", "The request is not valid."),
    5: ("Radās kļūda. Mēģiniet vēlāk.", "Something went wrong. Try again later."),
}


def _page(lang: Lang, title: str, body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def choice_page(lang: Lang, links: dict[str, str], other_lang_href: str) -> str:
    """The provider-choice page; `links` maps a provider's label to its (escaped here) URL."""
    t = TEXT[lang]
    items = "".join(
        f'<li><a href="{escape(href)}">{escape(t["with"])} {escape(label)}</a></li>'
        for label, href in links.items()
    )
    other = "en" if lang == "lv" else "lv"
    body = (
        f"<h1>{escape(t['choose'])}</h1><ul>{items}</ul>"
        f'<p><a href="{escape(other_lang_href)}" lang="{other}" hreflang="{other}">'
        f"{escape(t['other'])}</a></p>"
    )
    return _page(lang, t["title"], body)


def problem_text(lang: Lang, problem_type: str, status: int) -> str:
    """What went wrong, in the page's language."""
    texts = PROBLEMS.get(problem_type) or FALLBACK[5 if status >= 500 else 4]
    return texts[LANGS.index(lang)]


def error_page(lang: Lang, status: int, problem_type: str, kind: Kind = "login") -> str:
    """A failed login or logout, explained: what went wrong, its code, then what to do."""
    t = TEXT[lang]
    prefix = "" if kind == "login" else "logout_"
    heading, advice = t[f"{prefix}error"], t[f"{prefix}again"]
    body = (
        f"<h1>{escape(heading)}</h1>"
        f'<div role="alert"><p>{escape(problem_text(lang, problem_type, status))}</p>'
        f"<p>{escape(t['code'])}: {status}</p></div><p>{escape(advice)}</p>"
    )
    return _page(lang, heading, body)
