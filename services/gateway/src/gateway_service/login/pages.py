"""Plain, accessible HTML pages of the login: the provider choice and errors, in lv and en."""

from __future__ import annotations

from html import escape
from typing import Literal

Lang = Literal["lv", "en"]

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
    },
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


def error_page(
    lang: Lang, status: int, title: str, detail: str, kind: Literal["login", "logout"] = "login"
) -> str:
    """A failed login or logout, explained (the problem's title and detail, then what to do)."""
    t = TEXT[lang]
    prefix = "" if kind == "login" else "logout_"
    heading, advice = t[f"{prefix}error"], t[f"{prefix}again"]
    body = (
        f"<h1>{escape(heading)}</h1>"
        f'<div role="alert"><p><strong>{escape(title)}</strong> ({status})</p>'
        f"<p>{escape(detail)}</p></div><p>{escape(advice)}</p>"
    )
    return _page(lang, heading, body)
