"""Languages: Latvian first, English offered; Babel catalogues compiled in memory at start.

The `.po` files under `translations/` are the source (no `.mo` to build or forget: a fresh
clone runs as it is). Dates and times are shown in Europe/Riga in the language's format.
Catalogues: `uv run python -m portal_service.i18n` extracts the messages and updates both.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

Lang = Literal["lv", "en"]
LANGS: tuple[Lang, ...] = ("lv", "en")
DEFAULT_LANG: Lang = "lv"
RIGA = ZoneInfo("Europe/Riga")
TRANSLATIONS = Path(__file__).parent / "translations"
DOMAIN = "messages"
STEADY_DATE = '"POT-Creation-Date: 2026-12-06 00:00+0000\\n"'


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


def as_lang(value: str | None) -> Lang:
    """A supported language, or the default."""
    return "en" if value == "en" else DEFAULT_LANG


@cache
def translations(lang: Lang) -> Translations:
    """The compiled catalogue of a language (read from its `.po` once per process)."""
    po = TRANSLATIONS / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as source:
        catalog = read_po(source, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def format_when(value: dt.datetime, lang: Lang) -> str:
    """A moment as people in Latvia read it (Riga time), e.g. `2026. gada 6. decembris 10:15`."""
    riga = value.astimezone(RIGA)
    return f"{format_date(riga, 'long', locale=lang)} {format_time(riga, 'HH:mm', locale=lang)}"


def format_day(value: dt.date, lang: Lang) -> str:
    """A date in the language's long format, e.g. `2026. gada 6. decembris`."""
    return format_date(value, "long", locale=lang)


def update_catalogues(root: Path) -> None:
    """Extract messages into the `.pot` and merge them into each language's `.po`; English
    (the source language) gets its messages as they are, Latvian needs a translator."""
    from babel.messages.frontend import main as pybabel

    pot = TRANSLATIONS / f"{DOMAIN}.pot"
    base = ["pybabel", "-q"]
    extract = ["extract", "-F", str(root / "babel.cfg"), "-k", "N_", "--no-location"]
    extract += ["--sort-output", "-o", str(pot), str(root)]
    sys.argv = [*base, *extract]
    pybabel()
    for lang in LANGS:
        sys.argv = [*base, "update", "-i", str(pot), "-d", str(TRANSLATIONS), "-l", lang]
        sys.argv += ["--no-fuzzy-matching", "--ignore-obsolete", "-w", "100"]
        pybabel()
    _fill_source_language(TRANSLATIONS / "en" / "LC_MESSAGES" / f"{DOMAIN}.po")
    for path in [pot, *(TRANSLATIONS / lang / "LC_MESSAGES" / f"{DOMAIN}.po" for lang in LANGS)]:
        _steady_header(path)


def _steady_header(path: Path) -> None:
    """No extraction date in the header: catalogues updated on two branches merge cleanly."""
    text = path.read_text(encoding="utf-8")
    path.write_text(
        re.sub(r'"POT-Creation-Date: [^"]*"', lambda _: STEADY_DATE, text), encoding="utf-8"
    )


def _fill_source_language(po: Path) -> None:
    from babel.messages.pofile import write_po

    with po.open("rb") as source:
        catalog = read_po(source, locale="en")
    for message in catalog:
        if message.pluralizable and not all(message.string or ()):
            message.string = tuple(message.id)  # (singular, plural): English's two forms
        elif message.id and not message.string:
            message.string = message.id
    with po.open("wb") as target:
        write_po(target, catalog, width=100, include_lineno=False)


if __name__ == "__main__":
    update_catalogues(Path(__file__).resolve().parents[2])
