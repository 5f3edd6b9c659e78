"""Languages of the people's pages: Latvian first, English offered; Babel catalogues.

A service keeps `translations/{lv,en}/LC_MESSAGES/messages.po` beside its package (and the
`.pot` they come from). The `.po` files are the source and are compiled in memory at start: no
`.mo` to build or forget, a fresh clone runs as it is. The kit's layout has a catalogue of its
own (`shared_kit/design/translations`), under each service's.

`uv run python -m shared_kit.design.i18n <package>` extracts a package's messages (as its
nearest `babel.cfg` says) and updates both languages; English, the source language, gets its
messages as they are, Latvian needs a translator.
"""

from __future__ import annotations

import io
import re
import sys
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Literal

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

Lang = Literal["lv", "en"]
LANGS: tuple[Lang, ...] = ("lv", "en")
DEFAULT_LANG: Lang = "lv"
DOMAIN = "messages"
STEADY_DATE = '"POT-Creation-Date: 2026-12-06 00:00+0000\\n"'
KIT_TRANSLATIONS = Path(__file__).parent / "translations"


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


def as_lang(value: str | None) -> Lang:
    """A supported language, or the default."""
    return "en" if value == "en" else DEFAULT_LANG


def other_lang(lang: Lang) -> Lang:
    """The language a page offers to switch to."""
    return "en" if lang == "lv" else "lv"


def compiled(directory: Path, lang: Lang) -> Translations:
    """The catalogue of a language under `directory`, compiled from its `.po`."""
    po = directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as source:
        catalog = read_po(source, locale=lang)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo, domain=DOMAIN)


@cache
def translations(directory: Path, lang: Lang) -> Translations:
    """A service's catalogue over the kit's (the layout's messages), compiled once."""
    return compiled(KIT_TRANSLATIONS, lang).merge(compiled(directory, lang))


def update_catalogues(mapping: Path, translations_dir: Path) -> None:
    """Extract the messages `mapping` (a babel.cfg) finds beside it into the `.pot` of
    `translations_dir`, and merge them into each language's `.po`."""
    from babel.messages.frontend import main as pybabel

    pot = translations_dir / f"{DOMAIN}.pot"
    extract = ["extract", "-F", str(mapping), "-k", "N_", "--no-location", "--sort-output"]
    _run(pybabel, [*extract, "-o", str(pot), str(mapping.parent)])
    for lang in LANGS:
        update = ["update", "-i", str(pot), "-d", str(translations_dir), "-l", lang]
        _run(pybabel, [*update, "--no-fuzzy-matching", "--ignore-obsolete", "-w", "100"])
    fill_source_language(translations_dir / "en" / "LC_MESSAGES" / f"{DOMAIN}.po")
    for lang in LANGS:
        steady_header(translations_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po")
    steady_header(pot)


def steady_header(path: Path) -> None:
    """No extraction date in a catalogue's header: catalogues updated on two branches merge
    cleanly."""
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'"POT-Creation-Date: [^"]*"', lambda _: STEADY_DATE, text), "utf-8")


def _run(pybabel: object, args: list[str]) -> None:
    # pybabel's command line is its documented interface; it reads sys.argv.
    sys.argv = ["pybabel", "-q", *args]
    pybabel()  # type: ignore[operator]


def fill_source_language(po: Path) -> None:
    """English is the source language: each message is its own translation."""
    with po.open("rb") as source:
        catalog = read_po(source, locale="en")
    for message in catalog:
        if isinstance(message.id, tuple | list) and not all(message.string or ()):
            message.string = tuple(message.id)  # singular and plural as written
        elif message.id and not message.string:
            message.string = message.id
    with po.open("wb") as target:
        write_po(target, catalog, width=100, include_lineno=False)


def package_catalogues(package: str) -> tuple[Path, Path]:
    """A package's `babel.cfg` (in it or the nearest folder above) and its translations."""
    spec = find_spec(package)
    if spec is None or spec.origin is None:
        raise SystemExit(f"no package {package}")
    here = Path(spec.origin).resolve().parent
    for folder in (here, *here.parents):
        if (folder / "babel.cfg").exists():
            return folder / "babel.cfg", here / "translations"
    raise SystemExit(f"no babel.cfg in or above {here}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m shared_kit.design.i18n <package>")
    update_catalogues(*package_catalogues(sys.argv[1]))
