"""Jinja environments, one per language, with the GOV.UK Frontend macros and our layout
(`web/layout.html`, on the kit's `design/base.html`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any

from jinja2 import Environment

from portal_service.i18n import (
    LANGS,
    TRANSLATIONS,
    Lang,
    format_day,
    format_duration,
    format_when,
    translations,
)
from portal_service.web.forms import FormErrors
from shared_kit import design

PACKAGE = Path(__file__).resolve().parents[1]
# One folder per area, each with its templates; `web` holds the shared layout and components.
AREAS = tuple(sorted(path.parent.name for path in PACKAGE.glob("*/templates")))


@cache
def environment(lang: Lang) -> Environment:
    """The environment of one language: its gettext, its date formats."""
    folders = {area: PACKAGE / area / "templates" for area in AREAS}
    env = design.environment(lang, TRANSLATIONS, folders)
    env.filters["when"] = partial(_when, lang=lang)
    env.filters["day"] = partial(_day, lang=lang)
    env.filters["duration"] = partial(format_duration, lang=lang)
    gettext = translations(lang).gettext
    env.filters["summary"] = partial(error_summary, gettext=gettext)
    env.filters["error_at"] = partial(error_at, gettext=gettext)
    return env


def error_summary(errors: FormErrors | None, gettext: Callable[[str], str]) -> list[dict[str, str]]:
    """The error summary's list: each field's message, linked to the field."""
    if not errors:
        return []
    items = []
    for name, (message, params) in errors.fields.items():
        item = {"text": gettext(message) % params if params else gettext(message)}
        href = errors.anchor(name)
        items.append(item | ({"href": href} if href else {}))
    return items


def error_at(
    errors: FormErrors | None, name: str, gettext: Callable[[str], str]
) -> dict[str, str] | None:
    """A field's `errorMessage` for the design system's macros (None: no message)."""
    if not errors or name not in errors.fields:
        return None
    message, params = errors.fields[name]
    return {"text": gettext(message) % params if params else gettext(message)}


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
