"""A person's own preferences: `/me/preferences`."""

from __future__ import annotations

from fastapi import APIRouter

from notifications_service.deps import Person
from notifications_service.routers.base import COMMON
from notifications_service.schemas.preferences import PreferencesRead, PreferencesWrite
from notifications_service.service import preferences
from shared_kit.deps import SessionDep

router = APIRouter(prefix="/me/preferences", tags=["preferences"], responses=COMMON)


@router.get("", response_model=PreferencesRead)
async def get_preferences(session: SessionDep, person: Person) -> PreferencesRead:
    """The caller's language and the kinds of their audiences: on or off, and channels."""
    return await preferences.preferences(session=session, principal=person)


@router.put("", response_model=PreferencesRead)
async def put_preferences(
    body: PreferencesWrite, session: SessionDep, person: Person
) -> PreferencesRead:
    """Change the language and some kinds (an essential kind may change channels only)."""
    return await preferences.update(session=session, principal=person, data=body)
