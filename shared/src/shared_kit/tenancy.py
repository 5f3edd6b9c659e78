"""Tenancy: which rows a caller may see, the one error for stepping outside, and audit names.

Every service turns a caller's principal into a `Scope` in its access rules and lets its
repositories turn the scope into a WHERE condition with `Scope.condition`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, or_

from shared_kit.auth import Principal
from shared_kit.problems import Forbidden


class TenantForbidden(Forbidden):
    """The caller asked for something outside their municipality, school or family."""

    type, title = "tenant-forbidden", "Outside your tenancy"


@dataclass(frozen=True)
class Scope:
    """What a caller may see: everything, or rows that match any one of the sets."""

    everything: bool = False
    municipality_codes: frozenset[str] = frozenset()
    institution_numbers: frozenset[str] = frozenset()
    person_ids: frozenset[str] = frozenset()

    @classmethod
    def all(cls) -> Scope:
        """No restriction (platform admins, trusted internal callers)."""
        return cls(everything=True)

    @classmethod
    def of(
        cls,
        *,
        municipalities: Iterable[str] = (),
        institutions: Iterable[str] = (),
        persons: Iterable[Any] = (),
    ) -> Scope:
        """A restricted scope from any iterables (person ids are kept as strings)."""
        return cls(
            municipality_codes=frozenset(municipalities),
            institution_numbers=frozenset(institutions),
            person_ids=frozenset(str(p) for p in persons),
        )

    @property
    def is_empty(self) -> bool:
        """Whether the caller may see nothing at all."""
        return not (
            self.everything
            or self.municipality_codes
            or self.institution_numbers
            or self.person_ids
        )

    def allows(
        self,
        *,
        municipality: str | None = None,
        institution: str | None = None,
        person: Any = None,
    ) -> bool:
        """Whether one row with these owners is inside the scope."""
        return (
            self.everything
            or (municipality is not None and municipality in self.municipality_codes)
            or (institution is not None and institution in self.institution_numbers)
            or (person is not None and str(person) in self.person_ids)
        )

    def condition(
        self,
        *,
        municipality: Any = None,
        institution: Any = None,
        person: Any = None,
    ) -> ColumnElement[bool] | None:
        """The WHERE condition over the given columns; None when nothing needs restricting."""
        if self.everything:
            return None
        parts: list[ColumnElement[bool]] = []
        if municipality is not None and self.municipality_codes:
            parts.append(municipality.in_(sorted(self.municipality_codes)))
        if institution is not None and self.institution_numbers:
            parts.append(institution.in_(sorted(self.institution_numbers)))
        if person is not None and self.person_ids:
            parts.append(person.in_(_typed(person, self.person_ids)))
        return or_(*parts) if parts else false()


def _typed(column: Any, values: frozenset[str]) -> list[Any]:
    """Person ids converted to the column's Python type (UUID columns take UUIDs)."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return sorted(values)
    if python_type is str:
        return sorted(values)
    converted = []
    for value in sorted(values):
        try:
            converted.append(python_type(value))
        except ValueError:
            continue  # an id of another shape cannot match this column
    return converted


def actor_of(principal: Principal) -> str:
    """How audit trails and histories name a caller: `client:<id>` or `person:<id>`."""
    if principal.client_id:
        return f"client:{principal.client_id}"
    return f"person:{principal.subject}"
