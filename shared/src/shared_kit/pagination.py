"""Cursor pagination over a stable sort key (keyset), with opaque cursors."""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import re
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar, TypeVarTuple

from fastapi import Query, Response
from pydantic import BaseModel
from sqlalchemy import BigInteger, ColumnElement, Integer, Select, SmallInteger, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from shared_kit.problems import ProblemError, field_error

T = TypeVar("T")
RowT = TypeVarTuple("RowT")
MAX_LIMIT = 200

# A sort-key column: a Core column expression or a mapped attribute (`Device.created_at`).
KeyColumn = ColumnElement[Any] | QueryableAttribute[Any]


class InvalidCursor(ProblemError):
    status, type, title = 422, "invalid-cursor", "Invalid cursor"

    def __init__(self, detail: str | None = None, *, parameter: str = "cursor") -> None:
        detail = detail or "The cursor is not one this endpoint issued"
        error = field_error(("query", parameter), detail, "invalid_cursor")
        super().__init__(detail, errors=[error])


class Page(BaseModel, Generic[T]):
    """One page of results; pass `next_cursor` as `cursor` to get the next one."""

    items: list[T]
    next_cursor: str | None = None


CursorParam = Annotated[
    str | None,
    Query(description="Opaque cursor from `next_cursor`", pattern=r"^[A-Za-z0-9_-]{1,2000}$"),
]
LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]

_INTEGER = re.compile(r"-?[0-9]{1,19}")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?(E[+-]?[0-9]{1,4})?")
_INTEGER_BITS = {SmallInteger: 16, BigInteger: 64, Integer: 32}


def _integer(value: str, column: KeyColumn) -> int:
    """An integer that fits the column's PostgreSQL type."""
    if _INTEGER.fullmatch(value) is None:
        raise ValueError("not an integer")
    bits = next((b for t, b in _INTEGER_BITS.items() if isinstance(column.type, t)), 64)
    number = int(value)
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        raise ValueError("out of the column's range")
    return number


def _decimal(value: str, column: KeyColumn) -> Decimal:
    """A finite decimal number in plain or exponent notation."""
    if _DECIMAL.fullmatch(value) is None:
        raise ValueError("not a decimal number")
    return Decimal(value)


def _datetime(value: str, column: KeyColumn) -> dt.datetime:
    """A timestamp with an offset exactly when the column has a time zone."""
    moment = dt.datetime.fromisoformat(value)
    if (moment.tzinfo is not None) != bool(getattr(column.type, "timezone", False)):
        raise ValueError("time zone does not match the column")
    # The driver converts to UTC; a moment that cannot be expressed in UTC fails here instead.
    return moment.astimezone(dt.UTC) if moment.tzinfo is not None else moment


_PARSERS: dict[type, Callable[[str, KeyColumn], Any]] = {
    uuid.UUID: lambda v, _: uuid.UUID(v),
    dt.datetime: _datetime,
    dt.date: lambda v, _: dt.date.fromisoformat(v),
    Decimal: _decimal,
    int: _integer,
}


def _typed(value: Any, column: KeyColumn) -> Any:
    """One cursor slot (always a string, as `encode_cursor` writes it) typed like its column."""
    if not isinstance(value, str):
        raise TypeError("a cursor slot is a string")
    value.encode("utf-8")  # a lone surrogate (JSON allows "\\ud800") raises UnicodeEncodeError
    if "\x00" in value:
        raise ValueError("PostgreSQL text cannot hold NUL")
    kind = column.type.python_type
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(value)
    parser = _PARSERS.get(kind)
    if parser is None:
        return value
    if not value.isascii():
        raise ValueError("non-ASCII characters in a typed cursor slot")
    return parser(value, column)


def encode_cursor(values: Sequence[Any]) -> str:
    """Opaque, URL-safe cursor for the sort-key values of the last row."""
    raw = json.dumps([v.isoformat() if hasattr(v, "isoformat") else str(v) for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_bytes(cursor: str) -> bytes:
    """The bytes of an unpadded URL-safe base64 cursor; ValueError unless it is canonical."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    if base64.urlsafe_b64encode(raw).decode().rstrip("=") != cursor:
        raise ValueError("not canonical unpadded URL-safe base64")
    return raw


def decode_cursor(cursor: str, columns: Sequence[KeyColumn]) -> list[Any]:
    """Sort-key values from a cursor, typed like the columns; InvalidCursor when garbled."""
    try:
        values = json.loads(cursor_bytes(cursor))
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError("wrong arity")
        return [_typed(v, c) for v, c in zip(values, columns, strict=True)]
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
        # ArithmeticError: decimal.InvalidOperation, OverflowError; RecursionError: deep JSON.
        raise InvalidCursor() from exc


def paginate(
    stmt: Select[*RowT],
    columns: Sequence[KeyColumn],
    cursor: str | None,
    limit: int,
    *,
    descending: bool = False,
) -> Select[*RowT]:
    """Order by the key columns (all ascending, or all descending), start after the cursor,
    fetch one extra row to see more."""
    if cursor:
        key, start = tuple_(*columns), tuple_(*decode_cursor(cursor, columns))
        stmt = stmt.where(key < start if descending else key > start)
    order = [c.desc() for c in columns] if descending else list(columns)
    return stmt.order_by(*order).limit(limit + 1)


async def fetch_page(
    session: AsyncSession,
    stmt: Select[Any],
    columns: Sequence[KeyColumn],
    cursor: str | None,
    limit: int,
    *,
    descending: bool = False,
) -> Sequence[Any]:
    """Rows of one page (plus one to tell whether more follow), in key order."""
    query = paginate(stmt, columns, cursor, limit, descending=descending)
    return (await session.scalars(query)).all()


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
