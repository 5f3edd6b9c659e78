"""The ticket list (the support queue above all): a page of rows straight to `TicketRead`'s
fields in plain values, written by `fastjson` as pydantic would write the models."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.auth import Principal
from shared_kit.pagination import page_of
from tickets_service.repository.listing import (
    AFTER_SLA,
    BEFORE_DEVICE,
    BEFORE_SLA,
    SLA_COLUMNS,
    TicketListRepository,
)
from tickets_service.schemas import TicketFilters
from tickets_service.service import access
from tickets_service.service.tickets import device_values

# Where each part of TicketRead sits in a row of the list (`repository.listing.LIST_COLUMNS`).
_DEVICE_AT = len(BEFORE_DEVICE)
_SLA_AT = _DEVICE_AT + len(BEFORE_SLA)
_SOURCES_AT = _SLA_AT + len(AFTER_SLA)
_LISTED_DEVICE_AT = _SOURCES_AT + len(SLA_COLUMNS)


@dataclass(frozen=True, slots=True)
class TicketPage:
    """A page of tickets as plain values, and the cursor of the next page (None: the last)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class ListedDevice(NamedTuple):
    """A ticket's device as a list row carries it (all None: not known to us)."""

    id: uuid.UUID | None
    status: str | None
    category: str | None
    os: str | None
    warranty_ends_on: dt.date | None
    insured_until: dt.date | None


async def list_tickets(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: TicketFilters,
    cursor: str | None,
    limit: int,
    today: dt.date,
) -> TicketPage:
    """Tickets inside the principal's scope that match the filters, oldest first."""
    scope = access.scope_for(principal)
    rows = await TicketListRepository(session).page(filters, scope, cursor, limit)
    items, next_cursor = page_of(rows, limit, lambda row: (row.opened_at, row.id))
    return TicketPage([listed(row, today) for row in items], next_cursor)


def listed(row: Row[Any], today: dt.date) -> dict[str, Any]:
    """A list row as `TicketRead`'s fields, in its order."""
    item = dict(zip(BEFORE_DEVICE, row[:_DEVICE_AT], strict=True))
    device = ListedDevice._make(row[_LISTED_DEVICE_AT:])
    item["device"] = device_values(device, today) if device.id is not None else None
    item.update(zip(BEFORE_SLA, row[_DEVICE_AT:_SLA_AT], strict=True))
    if item["return_photo_ids"]:  # stored as strings: written as the UUIDs they are
        item["return_photo_ids"] = [str(uuid.UUID(p)) for p in item["return_photo_ids"]]
    response_due, resolution_due, response_breached, resolution_breached = row[
        _SOURCES_AT:_LISTED_DEVICE_AT
    ]
    item["sla"] = {
        "response_due_at": response_due,
        "resolution_due_at": resolution_due,
        "response_breached": response_breached is not None,
        "resolution_breached": resolution_breached is not None,
    }
    item.update(zip(AFTER_SLA, row[_SLA_AT:_SOURCES_AT], strict=True))
    return item
