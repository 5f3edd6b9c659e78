"""Cursor pagination over a stable sort key (keyset), with opaque cursors."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Response
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.problems import ProblemError

T = TypeVar("T")
MAX_LIMIT = 200


class InvalidCursor(ProblemError):
    status, type, title = 422, "invalid-cursor", "Invalid cursor"


class Page(BaseModel, Generic[T]):
    """One page of results; pass `next_cursor` as `cursor` to get the next one."""

    items: list[T]
    next_cursor: str | None = None


CursorParam = Annotated[
    str | None,
    Query(description="Opaque cursor from `next_cursor`", pattern=r"^[A-Za-z0-9_-]{1,2000}$"),
]
LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]

_PARSERS: dict[type, Callable[[Any], Any]] = {
    uuid.UUID: uuid.UUID,
    dt.datetime: dt.datetime.fromisoformat,
    dt.date: dt.date.fromisoformat,
    Decimal: Decimal,
    int: int,
    str: str,
}


def encode_cursor(values: Sequence[Any]) -> str:
    """Opaque, URL-safe cursor for the sort-key values of the last row."""
    raw = json.dumps([v.isoformat() if hasattr(v, "isoformat") else str(v) for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, columns: Sequence[ColumnElement[Any]]) -> list[Any]:
    """Sort-key values from a cursor, typed like the columns; InvalidCursor when garbled."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError("wrong arity")
        return [
            None if v is None else _PARSERS.get(c.type.python_type, str)(v)
            for v, c in zip(values, columns, strict=True)
        ]
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidCursor("The cursor is not one this endpoint issued") from exc


def paginate(
    stmt: Select[Any], columns: Sequence[ColumnElement[Any]], cursor: str | None, limit: int
) -> Select[Any]:
    """Order by the key columns, start after the cursor, fetch one extra row to see more."""
    if cursor:
        stmt = stmt.where(tuple_(*columns) > tuple_(*decode_cursor(cursor, columns)))
    return stmt.order_by(*columns).limit(limit + 1)


async def fetch_page(
    session: AsyncSession,
    stmt: Select[Any],
    columns: Sequence[ColumnElement[Any]],
    cursor: str | None,
    limit: int,
) -> Sequence[Any]:
    """Rows of one page (plus one to tell whether more follow), in key order."""
    return (await session.scalars(paginate(stmt, columns, cursor, limit))).all()


def page_response(items: Sequence[BaseModel], next_cursor: str | None) -> Response:
    """A page serialised straight to JSON by pydantic (list endpoints are the hot path)."""
    body = Page[BaseModel](items=list(items), next_cursor=next_cursor)
    return Response(body.model_dump_json(serialize_as_any=True), media_type="application/json")


def page_of(
    rows: Sequence[Any], limit: int, key: Callable[[Any], Sequence[Any]]
) -> tuple[list[Any], str | None]:
    """Split the extra row off and build the next cursor from the last kept row."""
    items = list(rows[:limit])
    next_cursor = encode_cursor(key(items[-1])) if len(rows) > limit and items else None
    return items, next_cursor
