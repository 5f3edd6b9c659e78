"""What every tickets router shares: the prefix, problem responses, and ticket rendering."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.concurrency import etag
from shared_kit.problems import problem_responses
from tickets_service.models import NewTicket, Ticket
from tickets_service.schemas import DeviceInfo, TicketRead
from tickets_service.service import tickets as service

PREFIX = "/api/v1/tickets"
COMMON = problem_responses(400, 401, 403, 422, 503)
READ = problem_responses(404)
WRITE = problem_responses(404, 409, 412)


async def ticket_read(
    session: AsyncSession, ticket: Ticket, now: dt.datetime, timezone: str
) -> TicketRead:
    """A ticket with its device's current info."""
    device = await service.device_of(session, ticket, service.local_today(now, timezone))
    return TicketRead.of(ticket, device)


def opened_answer(ticket: NewTicket, device: DeviceInfo | None) -> dict[str, Any]:
    """A ticket just written, as `TicketRead` renders it, in plain values for `fastjson`
    (no model per answer; the fields, their order and their JSON are the same)."""
    sla = {
        "response_due_at": ticket.response_due_at,
        "resolution_due_at": ticket.resolution_due_at,
        "response_breached": ticket.response_breached_at is not None,
        "resolution_breached": ticket.resolution_breached_at is not None,
    }
    nested = {"device": device.model_dump() if device else None, "sla": sla}
    return {
        name: nested[name] if name in nested else getattr(ticket, name)
        for name in TicketRead.model_fields
    }


def headers(ticket: NewTicket | Ticket) -> dict[str, str]:
    """The ticket's ETag."""
    return {"ETag": etag(ticket.version)}
