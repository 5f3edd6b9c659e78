"""Opaque cursors."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid

from shared_kit.pagination import InvalidCursor, decode_cursor, encode_cursor

table = Table(
    "t",
    MetaData(),
    Column("at", DateTime(timezone=True)),
    Column("id", Uuid),
    Column("name", String),
)


class TestCursor:
    def test_values_come_back_typed(self) -> None:
        values = [dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), uuid.uuid4(), "Ā"]
        cursor = encode_cursor(values)
        assert decode_cursor(cursor, [table.c.at, table.c.id, table.c.name]) == values

    @pytest.mark.parametrize(
        "cursor",
        [
            "",
            "!!!",
            encode_cursor(["a"]),
            encode_cursor(["not a date", "6f1c2a34-0000-4000-8000-000000000000", "x"]),
        ],
    )
    def test_garbage_is_an_invalid_cursor(self, cursor: str) -> None:
        with pytest.raises(InvalidCursor):
            decode_cursor(cursor, [table.c.at, table.c.id, table.c.name])
