"""Schema bases every service's API models build on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A request body: unknown fields are refused, so a misspelt field is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid")


class ReadModel(BaseModel):
    """A response body read from ORM objects or rows."""

    model_config = ConfigDict(from_attributes=True)
