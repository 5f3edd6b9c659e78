"""The fast encoder writes what pydantic's JSON mode writes for the same values."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pydantic
import pytest
from asyncpg.pgproto import pgproto

from shared_kit.fastjson import FastJSONResponse, dumps


class Row(pydantic.BaseModel):
    """The value types the services' rows carry."""

    id: uuid.UUID
    at: dt.datetime
    day: dt.date
    size: Decimal
    count: int
    ratio: float
    name: str | None
    tags: list[str]


def sample() -> Row:
    """A row with a UTC time with microseconds, a Latvian name and a trailing-zero decimal."""
    at = dt.datetime(2026, 12, 6, 19, 5, 1, 123456, tzinfo=dt.UTC)
    return Row(
        id=uuid.uuid4(), at=at, day=at.date(), size=Decimal("11.60"), count=3, ratio=0.25,
        name="Jānis Bērziņš", tags=["a", "ē"],
    )  # fmt: skip


def test_same_bytes_as_pydantic() -> None:
    row = sample()
    assert dumps(row.model_dump()) == row.model_dump_json().encode()


def test_uuids_as_asyncpg_returns_them() -> None:
    value = uuid.uuid4()
    theirs = pgproto.UUID(str(value))
    assert type(theirs) is not uuid.UUID
    assert dumps({"id": theirs}) == dumps({"id": value}) == f'{{"id":"{value}"}}'.encode()


def test_other_time_zones_keep_their_offset() -> None:
    at = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert json.loads(dumps({"at": at})) == {"at": "2026-01-01T12:00:00+02:00"}


def test_unknown_types_are_refused() -> None:
    with pytest.raises(TypeError):
        dumps({"x": object()})


def test_response_is_json() -> None:
    response = FastJSONResponse({"items": [1, 2]}, status_code=200)
    assert response.body == b'{"items":[1,2]}'
    assert response.headers["content-type"] == "application/json"
