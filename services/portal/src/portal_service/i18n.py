"""Languages: Latvian first, English offered; Babel catalogues compiled in memory at start.

The `.po` files under `translations/` are the source (no `.mo` to build or forget: a fresh
clone runs as it is); the kit's layout brings its own catalogue (`shared_kit.design.i18n`).
Dates and times are shown in Europe/Riga in the language's format.
Catalogues: `uv run python -m portal_service.i18n` extracts the messages and updates both.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, format_timedelta
from babel.support import Translations

from shared_kit.design import i18n as design
from shared_kit.design.i18n import DEFAULT_LANG, LANGS, N_, Lang, as_lang

# The kit's language names, re-exported: the portal's modules import them from here.
__all__ = [
    "DEFAULT_LANG",
    "LANGS",
    "N_",
    "RIGA",
    "Lang",
    "as_lang",
    "format_day",
    "format_duration",
    "format_when",
    "translations",
    "update_catalogues",
]

RIGA = ZoneInfo("Europe/Riga")
TRANSLATIONS = Path(__file__).parent / "translations"


def translations(lang: Lang) -> Translations:
    """The compiled catalogue of a language, over the kit's (read once per process)."""
    return design.translations(TRANSLATIONS, lang)


def format_when(value: dt.datetime, lang: Lang) -> str:
    """A moment as people in Latvia read it (Riga time), e.g. `2026. gada 6. decembris 10:15`."""
    riga = value.astimezone(RIGA)
    return f"{format_date(riga, 'long', locale=lang)} {format_time(riga, 'HH:mm', locale=lang)}"


def format_day(value: dt.date, lang: Lang) -> str:
    """A date in the language's long format, e.g. `2026. gada 6. decembris`."""
    return format_date(value, "long", locale=lang)


def format_duration(value: dt.timedelta, lang: Lang) -> str:
    """A length of time in its two largest units, e.g. `2 dienas 3 stundas`, `45 minūtes`
    (at least one minute; the sign is the caller's to say)."""
    minutes = max(1, int(abs(value).total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    Unit = Literal["day", "hour", "minute"]
    parts: list[tuple[int, Unit]] = (
        [(days, "day"), (hours, "hour")] if days else [(hours, "hour"), (minutes, "minute")]
    )
    return " ".join(
        format_timedelta(
            dt.timedelta(**{f"{unit}s": count}), granularity=unit, threshold=10**6, locale=lang
        )
        for count, unit in parts
        if count
    )


def update_catalogues(root: Path) -> None:
    """Extract messages into the `.pot` and merge them into each language's `.po`."""
    design.update_catalogues(root / "babel.cfg", TRANSLATIONS)


if __name__ == "__main__":
    update_catalogues(Path(__file__).resolve().parents[2])
