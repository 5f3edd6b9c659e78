"""Models of a person's preferences: their language and, per kind, on or off and channels."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from notifications_service.kinds import Audience, Channel
from shared_kit.schemas import Strict

Language = Literal["lv", "en"]


class KindPreference(BaseModel):
    """One kind as the person has it."""

    kind: str
    audience: Audience
    essential: bool
    enabled: bool
    channels: list[Channel]


class PreferencesRead(BaseModel):
    """The person's language and every kind of their audiences."""

    language: Language
    kinds: list[KindPreference]


class KindChoice(Strict):
    """A change to one kind; an omitted field keeps its value."""

    kind: str = Field(min_length=1, max_length=60)
    enabled: bool | None = None
    channels: list[Channel] | None = Field(None, max_length=len(Channel))


class PreferencesWrite(Strict):
    """What to change: the language, some kinds, or both."""

    language: Language | None = None
    kinds: list[KindChoice] | None = Field(None, max_length=100)
