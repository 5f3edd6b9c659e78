"""The ticket list's SQL: its filters, the tenancy condition, and a page of rows for JSON.

A list page (the support queue above all) goes from rows of the columns it shows straight to
JSON: one statement reads the tickets with their devices (no ORM objects, no second query for
the devices), and the service turns each row into `TicketRead`'s fields. Conditions are on the
table's columns, so the statement stays plain Core.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.pagination import paginate
from shared_kit.tenancy import Scope
from tickets_service.models import DONE_STATES, Device, Ticket
from tickets_service.repository.base import OPEN
from tickets_service.schemas import TicketFilters, TicketRead

TICKET, DEVICE = Ticket.__table__.c, Device.__table__.c
ORDER = [TICKET.opened_at, TICKET.id]  # the queue's order, oldest first: the cursor's key
# TicketRead's fields that are the ticket's own columns, in its order: those before the
# device, those between the device and the SLA summary, and those after it.
_FIELDS = tuple(TicketRead.model_fields)
BEFORE_DEVICE = _FIELDS[: _FIELDS.index("device")]
BEFORE_SLA = _FIELDS[_FIELDS.index("device") + 1 : _FIELDS.index("sla")]
AFTER_SLA = _FIELDS[_FIELDS.index("sla") + 1 :]
# What a row holds after those: the SLA summary's sources, then the device (NULLs when the
# inventory has not told us about it; its id tells).
SLA_COLUMNS = (
    "response_due_at",
    "resolution_due_at",
    "response_breached_at",
    "resolution_breached_at",
)
DEVICE_COLUMNS = ("id", "status", "category", "os", "warranty_ends_on", "insured_until")
LIST_COLUMNS = [
    *(TICKET[name] for name in (*BEFORE_DEVICE, *BEFORE_SLA, *AFTER_SLA, *SLA_COLUMNS)),
    *(DEVICE[name].label(f"device_{name}") for name in DEVICE_COLUMNS),
]


def _breached() -> ColumnElement[bool]:
    return or_(TICKET.response_breached_at.is_not(None), TICKET.resolution_breached_at.is_not(None))


def filtered(stmt: Select[Any], f: TicketFilters, scope: Scope) -> Select[Any]:
    """`stmt` narrowed to the tickets in scope that match the filters."""
    condition = scope.condition(
        municipality=TICKET.municipality_code,
        institution=TICKET.institution_number,
        person=TICKET.reporter_id,
    )
    if condition is not None:
        stmt = stmt.where(condition)
    if f.states:
        stmt = stmt.where(TICKET.state.in_(f.states))
    if f.open is True:
        stmt = stmt.where(OPEN)
    elif f.open is False:
        stmt = stmt.where(TICKET.state.in_(DONE_STATES))
    if f.severities:
        stmt = stmt.where(TICKET.severity.in_(f.severities))
    if f.categories:
        stmt = stmt.where(TICKET.category.in_(f.categories))
    if f.breached is not None:
        stmt = stmt.where(_breached() if f.breached else ~_breached())
    if f.municipality_code:
        stmt = stmt.where(TICKET.municipality_code == f.municipality_code)
    if f.institution_number:
        stmt = stmt.where(TICKET.institution_number == f.institution_number)
    if f.device_id:
        stmt = stmt.where(TICKET.device_id == f.device_id)
    if f.assignee_id:
        stmt = stmt.where(TICKET.assignee_id == f.assignee_id)
    if f.unassigned:
        stmt = stmt.where(TICKET.assignee_id.is_(None))
    return stmt


class TicketListRepository:
    """Pages of tickets inside a tenancy scope, oldest first."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, filters: TicketFilters, scope: Scope, cursor: str | None, limit: int
    ) -> Sequence[Row[Any]]:
        """One page of the tickets in scope that match the filters (plus one to tell whether
        more follow), as rows of `LIST_COLUMNS`."""
        joined = Ticket.__table__.outerjoin(Device.__table__, DEVICE.id == TICKET.device_id)
        stmt = filtered(select(*LIST_COLUMNS).select_from(joined), filters, scope)
        query = paginate(stmt, ORDER, cursor, limit)
        return (await self.session.execute(query)).all()
