"""Jinja environments, one per language, with the GOV.UK Frontend macros and our layout
(`web/layout.html`, on the kit's `design/base.html`)."""

from __future__ import annotations

import datetime as dt
from functools import cache, partial
from pathlib import Path
from typing import Any

from jinja2 import Environment

from portal_service.i18n import LANGS, TRANSLATIONS, Lang, format_day, format_when
from shared_kit import design

PACKAGE = Path(__file__).resolve().parents[1]
# One folder per area, each with its templates; `web` holds the shared layout and components.
AREAS = ("web", "start", "home", "help")


@cache
def environment(lang: Lang) -> Environment:
    """The environment of one language: its gettext, its date formats."""
    folders = {area: PACKAGE / area / "templates" for area in AREAS}
    env = design.environment(lang, TRANSLATIONS, folders)
    env.filters["when"] = partial(_when, lang=lang)
    env.filters["day"] = partial(_day, lang=lang)
    return env


def _when(value: dt.datetime | None, lang: Lang) -> str:
    return "" if value is None else format_when(value, lang)


def _day(value: dt.date | None, lang: Lang) -> str:
    return "" if value is None else format_day(value, lang)


def render(lang: Lang, name: str, context: dict[str, Any]) -> str:
    """A template rendered in a language."""
    return environment(lang).get_template(name).render(context)


def warm_up() -> None:
    """Load both catalogues at start (a broken `.po` fails the start, not a page)."""
    for lang in LANGS:
        environment(lang)
