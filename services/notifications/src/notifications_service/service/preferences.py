"""A person's preferences: their language, and per kind whether it is on and its channels.

The kinds a person sees are those of their audiences, from the token's roles: every person is
family (a guardian, a learner, staff with children of their own), school administrators also get
the school kinds, technicians the support kinds. Kinds for `anyone` (the platform about a
person's own contact point) are not theirs to choose. An essential kind may change channels but
never be turned off. A kind with no stored choice is on, by its default channels.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.exceptions import EssentialKind, InvalidPreferences
from notifications_service.kinds import KINDS, Audience, Channel, Kind
from notifications_service.models import Preference
from notifications_service.repository.contacts import RecipientRepository
from notifications_service.repository.preferences import PreferenceRepository
from notifications_service.schemas.preferences import (
    KindChoice,
    KindPreference,
    PreferencesRead,
    PreferencesWrite,
)
from shared_kit.auth import Principal, Role
from shared_kit.problems import field_error

DEFAULT_LANGUAGE = "lv"
ROLE_AUDIENCES = {Role.INSTITUTION_ADMIN: Audience.SCHOOL, Role.TECHNICIAN: Audience.SUPPORT}


def audiences(principal: Principal) -> set[Audience]:
    """The audiences a person belongs to, by their roles."""
    extra = {audience for role, audience in ROLE_AUDIENCES.items() if principal.has(role)}
    return {Audience.FAMILY} | extra


def kinds_of(principal: Principal) -> list[Kind]:
    """The kinds a person may choose about, in the catalogue's order."""
    theirs = audiences(principal)
    return [kind for kind in KINDS.values() if kind.audience in theirs]


async def preferences(*, session: AsyncSession, principal: Principal) -> PreferencesRead:
    """The person's language and every kind of theirs, stored choice or default."""
    person_id = principal.subject
    language = await RecipientRepository(session).language(person_id)
    stored = await PreferenceRepository(session).of_person(person_id)
    return PreferencesRead(
        language="en" if language == "en" else DEFAULT_LANGUAGE,
        kinds=[_state(kind, stored.get(kind.name)) for kind in kinds_of(principal)],
    )


async def update(
    *, session: AsyncSession, principal: Principal, data: PreferencesWrite
) -> PreferencesRead:
    """Apply the changes (all or none) and return the new state."""
    person_id = principal.subject
    choices = data.kinds or []
    _check(principal, choices)
    if data.language is not None:
        await RecipientRepository(session).set_language(person_id, data.language)
    else:
        await RecipientRepository(session).ensure(person_id)
    repo = PreferenceRepository(session)
    stored = await repo.of_person(person_id)
    for choice in choices:
        current = _state(KINDS[choice.kind], stored.get(choice.kind))
        enabled = current.enabled if choice.enabled is None else choice.enabled
        channels = current.channels if choice.channels is None else choice.channels
        unique = [c.value for c in dict.fromkeys(channels)]
        await repo.put(person_id, choice.kind, enabled=enabled, channels=unique)
    return await preferences(session=session, principal=principal)


def _check(principal: Principal, choices: list[KindChoice]) -> None:
    """Refuse unknown or repeated kinds, then essential kinds turned off."""
    theirs = {kind.name for kind in kinds_of(principal)}
    unknown, seen = [], set()
    for i, choice in enumerate(choices):
        if choice.kind not in theirs:
            detail = f"'{choice.kind}' is not a kind you can choose about"
            unknown.append(field_error(("body", "kinds", i, "kind"), detail, "unknown_kind"))
        elif choice.kind in seen:
            detail = f"'{choice.kind}' is listed twice"
            unknown.append(field_error(("body", "kinds", i, "kind"), detail, "duplicate_kind"))
        seen.add(choice.kind)
    if unknown:
        raise InvalidPreferences("Unknown or repeated kinds", errors=unknown)
    essential = [
        field_error(("body", "kinds", i), f"'{c.kind}' cannot be turned off", "essential_kind")
        for i, c in enumerate(choices)
        if c.enabled is False and KINDS[c.kind].essential
    ]
    if essential:
        raise EssentialKind("Essential kinds may change channels but stay on", errors=essential)


def _state(kind: Kind, stored: Preference | None) -> KindPreference:
    """One kind as the person has it: their stored choice, else the default."""
    if stored is None:
        enabled, channels = True, list(kind.default_channels)
    else:
        enabled = stored.enabled or kind.essential
        channels = _channels(stored.channels)
    return KindPreference(
        kind=kind.name,
        audience=kind.audience,
        essential=kind.essential,
        enabled=enabled,
        channels=channels,
    )


def _channels(values: list[str]) -> list[Channel]:
    """Stored channel names that are still channels."""
    known = {c.value: c for c in Channel}
    return [known[v] for v in values if v in known]
