"""Saving a versioned resource from a console form (catalogue items, lenders, both policies).

Every form carries the version it was read at and saves with `If-Match`. When someone saved a
change meanwhile the service answers 412: the form comes back with "someone changed this
meanwhile" in the error summary and both versions side by side (field, your value, saved
value; the macro `municipality/conflict.html`), still filled in with the person's values but
now carrying the saved version, so saving again applies them on top of it; a link keeps the
saved one. A conflict where both versions say the same is no conflict: it counts as saved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from babel.support import Translations
from fastapi import Request

from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_, translations
from portal_service.web.api import ApiProblem
from portal_service.web.forms import FormErrors, problem_errors
from portal_service.web.pages import lang_of

STALE = 412
SOMEONE_CHANGED = N_(
    "Someone changed this meanwhile. Compare your values with the saved ones below, then save "
    "yours again or keep the saved ones"
)
NOT_ALLOWED = N_("You may not change this. Ask the platform's administrators")
CONFLICT_ANCHOR = "conflict"

# A resource in words for a person: field name → its value as the page shows it.
Described = dict[str, str]


def words(request: Request) -> Translations:
    """The person's language's catalogue, for values put into words in Python."""
    return translations(lang_of(request))


def if_match(version: int) -> str:
    """The strong ETag of a version, as the services send and expect it."""
    return f'"{version}"'


@dataclass(frozen=True)
class Difference:
    """One field of the comparison: its label (a message id), your value and the saved one."""

    label: str
    yours: str
    saved: str

    @property
    def differs(self) -> bool:
        """Whether the two versions disagree on this field."""
        return self.yours != self.saved


@dataclass(frozen=True)
class Conflict:
    """Both versions of a resource, field by field, and where keeping the saved one leads."""

    rows: list[Difference]
    keep_href: str

    @property
    def settled(self) -> bool:
        """Both versions say the same: what the person wanted is saved."""
        return not any(row.differs for row in self.rows)


def conflict_of(
    labels: Mapping[str, str], yours: Described, saved: Described, keep_href: str
) -> Conflict:
    """The comparison of the person's values with the saved ones, in the labels' order."""
    rows = [Difference(label, yours.get(n, ""), saved.get(n, "")) for n, label in labels.items()]
    return Conflict(rows, keep_href)


@dataclass
class Refusal:
    """A save that did not happen: the form's messages, and the comparison after a 412 with
    the version to save over next."""

    errors: FormErrors
    conflict: Conflict | None = None
    version: int | None = None
    forbidden: bool = False


class Prefixes(Mapping[str, str]):
    """API pointers to form fields by their start: `/school_levels/3` → `school_levels` (a
    list's or a map's members are one field of the form)."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self._fields = dict(fields)

    def __getitem__(self, pointer: str) -> str:
        for start, name in self._fields.items():
            if pointer == start or pointer.startswith(start + "/"):
                return name
        raise KeyError(pointer)

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


@dataclass(frozen=True)
class Editing:
    """What the helper needs to know about one kind of form."""

    labels: Mapping[str, str]  # field → label, in the page's order
    describe: Callable[[Mapping[str, Any]], Described]  # a resource in words
    messages: Mapping[str, str]  # field → what to say when the service refuses it
    fields: Mapping[str, str] = field(default_factory=dict)  # API pointer → form field
    anchors: Mapping[str, str] = field(default_factory=dict)  # form field → input id


async def save(
    send: Awaitable[Any],
    editing: Editing,
    *,
    yours: Mapping[str, Any],
    current: Callable[[], Awaitable[Mapping[str, Any]]],
    keep_href: str,
) -> Refusal | None:
    """Send the change; None when it is saved, else why not (a 412 with both versions)."""
    try:
        await send
    except ApiProblem as problem:
        return await _refusal(problem, editing, yours, current, keep_href)
    return None


async def _refusal(
    problem: ApiProblem,
    editing: Editing,
    yours: Mapping[str, Any],
    current: Callable[[], Awaitable[Mapping[str, Any]]],
    keep_href: str,
) -> Refusal | None:
    if problem.status == 404:
        raise PageNotFound("gone while being edited") from problem
    if problem.status == 403:
        errors = FormErrors().add("form", NOT_ALLOWED)
        return Refusal(errors, forbidden=True)
    if problem.status != STALE:
        errors = problem_errors(problem, editing.messages, fields=editing.fields)
        errors.anchors.update(editing.anchors)
        return Refusal(errors)
    saved = await current()
    conflict = conflict_of(
        editing.labels, editing.describe(yours), editing.describe(saved), keep_href
    )
    if conflict.settled:
        return None
    errors = FormErrors(anchors={CONFLICT_ANCHOR: CONFLICT_ANCHOR})
    return Refusal(errors.add(CONFLICT_ANCHOR, SOMEONE_CHANGED), conflict, int(saved["version"]))


def form_errors(errors: FormErrors, editing: Editing) -> FormErrors:
    """A form's own messages, linked to the inputs the page names for them."""
    errors.anchors.update(editing.anchors)
    return errors
