"""A check for gettext catalogues: every message of the template, translated, none fuzzy."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po


def catalogue_problems(directory: Path, lang: str) -> list[str]:
    """What is wrong with `lang`'s catalogue under `directory` against its `messages.pot`."""
    template = read_po((directory / "messages.pot").open("rb"))
    catalogue = read_po((directory / lang / "LC_MESSAGES" / "messages.po").open("rb"))
    wanted, present = {m.id for m in template if m.id}, {m.id for m in catalogue if m.id}
    problems = [f"missing {i!r}" for i in wanted - present]
    problems += [f"not in the template {i!r}" for i in present - wanted]
    for message in catalogue:
        if message.id and not message.string:
            problems.append(f"no translation of {message.id!r}")
        elif message.id and message.fuzzy:
            problems.append(f"fuzzy {message.id!r}")
    return problems
