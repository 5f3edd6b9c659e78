"""Opaque cursors: what this kit issues comes back typed; anything else is a 422 naming it."""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Enum,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Uuid,
    select,
)
from sqlalchemy.ext.asyncio import create_async_engine

from shared_kit.pagination import (
    CursorParam,
    InvalidCursor,
    cursor_bytes,
    decode_cursor,
    encode_cursor,
    paginate,
)
from shared_kit.problems import install_problem_handlers
from shared_kit.testing.cursors import TEXT, TIMESTAMP, UUID, forged_cursors


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


metadata = MetaData()
table = Table(
    "t",
    metadata,
    Column("at", DateTime(timezone=True)),
    Column("id", Uuid),
    Column("name", String),
    Column("n", Integer),
    Column("big", BigInteger),
    Column("price", Numeric(10, 2)),
    Column("day", Date),
    Column("local", DateTime(timezone=False)),
    Column("colour", Enum(Colour, name="colour", values_callable=lambda e: [m.value for m in e])),
)
KEY = [table.c.at, table.c.id, table.c.name]
AT, ID = "2026-01-02T03:04:05+00:00", "6f1c2a34-0000-4000-8000-000000000000"


def raw_cursor(text: str | bytes) -> str:
    """A cursor around any JSON text, as a client could forge it."""
    data = text.encode() if isinstance(text, str) else text
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def forged(*values: Any) -> str:
    """A cursor around any JSON list."""
    return raw_cursor(json.dumps(list(values)))


class TestRoundTrip:
    def test_values_come_back_typed(self) -> None:
        values = [dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), uuid.uuid4(), "Ā"]
        assert decode_cursor(encode_cursor(values), KEY) == values

    def test_every_supported_type(self) -> None:
        columns = [
            table.c.n,
            table.c.big,
            table.c.price,
            table.c.day,
            table.c.local,
            table.c.colour,
        ]
        values = [
            -(2**31),
            2**63 - 1,
            Decimal("329.00"),
            dt.date(2026, 1, 2),
            dt.datetime(2026, 1, 2, 3, 4),
            Colour.BLUE,
        ]
        cursor = encode_cursor([*values[:-1], Colour.BLUE.value])
        assert decode_cursor(cursor, columns) == values

    def test_an_offset_comes_back_as_the_same_moment(self) -> None:
        moment = dt.datetime(2026, 1, 2, 5, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        (decoded,) = decode_cursor(encode_cursor([moment]), [table.c.at])
        assert decoded == moment and decoded.utcoffset() == dt.timedelta(0)


GARBLED = {
    "empty": "",
    "not base64": "!!!",
    "padded base64": encode_cursor([AT, ID, "x"]) + "=",
    "impossible base64 length": "AAAAA",
    "not canonical base64": raw_cursor(b"[]")[:-1] + "1",
    "standard base64 alphabet": raw_cursor(f'["{AT}", "{ID}", "~~~"]').replace("-", "+"),
    "not UTF-8": raw_cursor(b'["\xff", "a", "b"]'),
    "not JSON": raw_cursor("[1,"),
    "deeply nested JSON": raw_cursor("[" * 1400),
    "an object": raw_cursor('{"at": "x"}'),
    "a string": raw_cursor('"x"'),
    "too short": forged(AT, ID),
    "too long": forged(AT, ID, "x", "y"),
    "an id that is a number": forged(AT, 5, "x"),
    "an id that is a list": forged(AT, [ID], "x"),
    "an id that is an object": forged(AT, {"id": ID}, "x"),
    "an id that is null": forged(AT, None, "x"),
    "a name that is a number": forged(AT, ID, 5),
    "a name that is true": forged(AT, ID, True),
    "a name with NUL": forged(AT, ID, "a\x00b"),
    "a name with a lone surrogate": raw_cursor(f'["{AT}", "{ID}", "\\ud800"]'),
    "a timestamp that is a number": forged(1767323045, ID, "x"),
    "a timestamp that is not one": forged("not a date", ID, "x"),
    "a timestamp without an offset": forged("2026-01-02T03:04:05", ID, "x"),
    "a timestamp in Arabic-Indic digits": forged("٢٠٢٦-01-02T03:04:05+00:00", ID, "x"),
    "a timestamp beyond UTC's range": forged("9999-12-31T23:59:59-05:00", ID, "x"),
    "a timestamp before UTC's range": forged("0001-01-01T00:00:00+05:00", ID, "x"),
    "a malformed id": forged(AT, "6f1c2a34", "x"),
    "an id in fullwidth digits": forged(AT, "６" * 32, "x"),
    "NaN": raw_cursor(f'["{AT}", NaN, "x"]'),
}


class TestGarbledCursors:
    @pytest.mark.parametrize("cursor", GARBLED.values(), ids=GARBLED.keys())
    def test_is_an_invalid_cursor(self, cursor: str) -> None:
        with pytest.raises(InvalidCursor):
            decode_cursor(cursor, KEY)

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            (table.c.n, "2147483648"),
            (table.c.n, "-2147483649"),
            (table.c.big, "9223372036854775808"),
            (table.c.n, "1.5"),
            (table.c.n, " 5"),
            (table.c.n, "+5"),
            (table.c.n, "5_0"),
            (table.c.n, "١٢"),
            (table.c.price, "x"),
            (table.c.price, "NaN"),
            (table.c.price, "Infinity"),
            (table.c.price, "1_000"),
            (table.c.price, "١٢"),
            (table.c.day, "2026-02-30"),
            (table.c.day, "２０２６-01-02"),
            (table.c.local, "2026-01-02T03:04:05+00:00"),
            (table.c.colour, "green"),
            (table.c.colour, "RED"),
        ],
    )
    def test_a_value_its_column_cannot_hold(self, column: Column[Any], value: str) -> None:
        with pytest.raises(InvalidCursor):
            decode_cursor(forged(value), [column])

    @pytest.mark.parametrize("name", forged_cursors(TIMESTAMP, UUID, TEXT))
    def test_the_forged_cursors_services_are_tested_with(self, name: str) -> None:
        with pytest.raises(InvalidCursor):
            decode_cursor(forged_cursors(TIMESTAMP, UUID, TEXT)[name], KEY)

    def test_the_problem_names_the_parameter(self) -> None:
        with pytest.raises(InvalidCursor) as caught:
            decode_cursor(forged(AT, 5, "x"), KEY)
        (error,) = caught.value.extra["errors"]
        assert error["in"] == "query" and error["field"] == "cursor"
        assert error["pointer"] == "/query/cursor"

    def test_another_parameter_name(self) -> None:
        (error,) = InvalidCursor(parameter="after").extra["errors"]
        assert error["field"] == "after" and error["pointer"] == "/query/after"

    def test_cursor_bytes_refuses_what_encode_never_writes(self) -> None:
        assert cursor_bytes(raw_cursor(b"[1]")) == b"[1]"
        for cursor in ("YQ==", "YR", "Y", "a b", "WyJ+fn4iXQ"):
            with pytest.raises(ValueError):
                cursor_bytes(cursor)


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/things")
    async def things(cursor: CursorParam = None) -> list[str]:
        if cursor:
            decode_cursor(cursor, KEY)
        return []

    return app


class TestOverHttp:
    @pytest.mark.parametrize("cursor", GARBLED.values(), ids=GARBLED.keys())
    async def test_a_garbled_cursor_is_a_problem_naming_cursor(self, cursor: str) -> None:
        transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            r = await client.get("/things", params={"cursor": cursor})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in r.json()["errors"]] == ["cursor"]


class TestOnPostgres:
    """Every cursor that decodes can be bound and compared by PostgreSQL."""

    @pytest.fixture
    async def database(self, make_database: Callable[[Path | None], Awaitable[str]]) -> str:
        url = await make_database(None)
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await engine.dispose()
        return url

    async def test_extreme_values_reach_the_database(self, database: str) -> None:
        columns = [c for c in table.c]
        values = [
            "9999-12-31T23:59:59+00:00",
            ID,
            "ā" * 500,
            "2147483647",
            "-9223372036854775808",
            "-12345678.99E+10",
            "0001-01-01",
            "0001-01-01T00:00:00",
            "blue",
        ]
        engine = create_async_engine(database)
        try:
            async with engine.connect() as conn:
                stmt = paginate(select(table), columns, forged(*values), 10)
                assert (await conn.execute(stmt)).all() == []
        finally:
            await engine.dispose()
