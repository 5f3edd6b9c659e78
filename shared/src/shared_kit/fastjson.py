"""JSON for read paths whose rows go straight to the client, without pydantic per row.

`dumps` writes what pydantic's JSON mode writes for the same values (UTC as `Z`, UUIDs and
dates as strings, `Decimal` as a string), so a lean endpoint answers byte for byte the same.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response

OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def _default(value: object) -> str:
    """The types orjson leaves to us, as pydantic writes them: decimals, and UUIDs of a
    subclass (asyncpg returns its own, which orjson does not take for one)."""
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(content: Any) -> bytes:
    """Compact UTF-8 JSON of plain values (dicts, lists, str, numbers, UUID, dates, Decimal)."""
    return orjson.dumps(content, default=_default, option=OPTIONS)


class FastJSONResponse(Response):
    """A JSON response rendered by orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
