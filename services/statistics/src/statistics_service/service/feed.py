"""The VIIS feed: cursor-paged daily institution snapshots.

A cursor is an opaque encoding of a record's feed position (`seq`). `after` is exclusive: a
page holds the records whose position is greater, in increasing order, so a client that keeps
passing `next` never sees a record twice and never misses one, also while new snapshots are
being appended (positions are allocated in commit order, see `SnapshotRepository.lock`).
Today's records are provisional: a newer version of one is appended with a greater position
(and the old one leaves the feed), so the client meets it after its cursor; a closed day's
final record never changes (see `service.snapshots`).
`next` is the position of the page's last record, or `after` itself when nothing is new, so
the client polls with the same cursor. A page's `ETag` is a hash of its body: `If-None-Match`
with it answers 304 while the page is unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.auth import Principal
from shared_kit.pagination import InvalidCursor, cursor_bytes
from statistics_service.repository.snapshots import SnapshotRepository
from statistics_service.schemas import (
    FEED_SCHEMA_VERSION,
    FeedItem,
    FeedPage,
    InstitutionSnapshotRecord,
)
from statistics_service.service import access

MAX_LIMIT = 1000
_PREFIX = "viis1:"
_POSITION = re.compile(r"viis1:([0-9]{1,18})")  # ASCII digits only, within bigint
SCHEMA_ID = "https://datori.lv/statistics/feeds/viis/record.schema.json"


def encode_cursor(position: int) -> str:
    """The opaque cursor of a feed position."""
    raw = f"{_PREFIX}{position}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The feed position of a cursor (0 = from the beginning); InvalidCursor if garbled."""
    if cursor is None:
        return 0
    try:
        match = _POSITION.fullmatch(cursor_bytes(cursor).decode())
    except ValueError as exc:
        raise InvalidCursor("The cursor is not one this feed issued", parameter="after") from exc
    if match is None:
        raise InvalidCursor("The cursor is not one this feed issued", parameter="after")
    return int(match[1])


async def page(
    session: AsyncSession, *, principal: Principal, after: str | None, limit: int
) -> tuple[bytes, str]:
    """A page of the feed as JSON bytes, and its strong ETag."""
    position = decode_cursor(after)
    rows = await SnapshotRepository(session).feed(position, limit, access.scope_of(principal))
    kept = rows[:limit]
    items = [
        FeedItem(
            cursor=encode_cursor(r.seq),
            record=InstitutionSnapshotRecord.model_validate(r.record),
        )
        for r in kept
    ]
    body = (
        FeedPage(
            items=items,
            next=encode_cursor(kept[-1].seq if kept else position),
            has_more=len(rows) > limit,
        )
        .model_dump_json()
        .encode()
    )
    return body, f'"{hashlib.sha256(body).hexdigest()[:40]}"'


def record_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a feed record, with its version."""
    schema = InstitutionSnapshotRecord.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "version": FEED_SCHEMA_VERSION,
        **schema,
    }
