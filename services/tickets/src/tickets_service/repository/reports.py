"""The report path's SQL: one statement reads what a new ticket needs, one writes it.

A report is the busiest write of the service (every family and school at the start of a school
year), so it costs two statements in Core rather than a unit of work: the device with its
current loan, its municipality's SLA policy for the severity and the ticket's number, read
together; then the ticket, its first transition and its outbox event, inserted together (one
statement is atomic, and it runs in the request's transaction like any other). Both are
`Prepared`: compiled once, run by asyncpg without SQLAlchemy's work around each execution.

The number comes from the ticket's identity sequence as the facts are read, so a report that is
then refused (no relation to the device) leaves a gap in the numbering, as a rolled-back
insert always could: numbers are unique, not gap-free.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.events.outbox import OutboxMessage
from shared_kit.prepared import Prepared
from tickets_service.models import Device, Loan, NewTicket, Severity, SlaPolicy, Ticket, Transition

_device, _loan, _policy = Device.__table__, Loan.__table__, SlaPolicy.__table__
_ticket, _transition, _outbox = Ticket.__table__, Transition.__table__, OutboxMessage.__table__

_current_loan = (
    select(_loan.c.contract_id, _loan.c.institution_number, _loan.c.borrower_id, _loan.c.learner_id)
    .where(_loan.c.device_id == _device.c.id, _loan.c.active)
    .order_by(_loan.c.activated_at.desc())
    .limit(1)
    .lateral("current_loan")
)

FACTS = (
    select(
        _device.c.id,
        _device.c.asset_tag,
        _device.c.municipality_code,
        _device.c.institution_number,
        _device.c.status,
        _device.c.category,
        _device.c.os,
        _device.c.warranty_ends_on,
        _device.c.insured_until,
        _current_loan.c.contract_id,
        _current_loan.c.institution_number.label("loan_institution_number"),
        _current_loan.c.borrower_id,
        _current_loan.c.learner_id,
        _policy.c.response_minutes,
        _policy.c.resolution_minutes,
        func.nextval(func.pg_get_serial_sequence("ticket", "number")).label("number"),
    )
    .select_from(_device)
    .outerjoin(_current_loan, true())
    .outerjoin(
        _policy,
        (_policy.c.municipality_code == _device.c.municipality_code)
        & (_policy.c.severity == bindparam("severity")),
    )
    .where(_device.c.id == bindparam("device_id"))
)

# Every column but the database's timestamps: what a new ticket does not have yet is NULL.
TICKET_COLUMNS = [c.name for c in _ticket.c if c.name not in ("created_at", "updated_at")]
TRANSITION_VALUES = ("id", "from_state", "to_state", "actor", "at")  # and the ticket's id
OUTBOX_COLUMNS = ("event_id", "topic", "key", "event_type", "headers", "payload")


def _values(table: Any, columns: tuple[str, ...] | list[str], prefix: str) -> dict[str, Any]:
    return {table.c[name]: bindparam(prefix + name) for name in columns}


# The transition names the ticket through the CTE, so the foreign key sees it inserted.
_opened = insert(_ticket).values(_values(_ticket, TICKET_COLUMNS, "t_")).returning(_ticket.c.id)
_opened_cte = _opened.cte("opened")
_history = (
    insert(_transition)
    .values(
        {
            **_values(_transition, TRANSITION_VALUES, "h_"),
            _transition.c.ticket_id: select(_opened_cte.c.id).scalar_subquery(),
        }
    )
    .cte("history")
)
OPEN = (
    insert(_outbox)
    .values(_values(_outbox, OUTBOX_COLUMNS, "o_"))
    .add_cte(_opened_cte)
    .add_cte(_history)
)


_FACTS, _OPEN = Prepared(FACTS), Prepared(OPEN)


class DeviceFacts(NamedTuple):
    """The device as a report needs it (`FACTS`' first columns, in their order)."""

    id: uuid.UUID
    asset_tag: str
    municipality_code: str
    institution_number: str | None
    status: str
    category: str
    os: str
    warranty_ends_on: dt.date | None
    insured_until: dt.date | None


class CurrentLoan(NamedTuple):
    """The loan the device is on, as the report needs it."""

    contract_id: uuid.UUID
    institution_number: str
    borrower_id: str
    learner_id: str


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """What a report for one device needs: the device, its loan, the targets, the number."""

    device: DeviceFacts
    loan: CurrentLoan | None
    targets: tuple[int, int] | None  # the municipality's stored policy (None: the defaults)
    number: int


class ReportRepository:
    """Reading and writing a reported ticket, one statement each."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def facts(self, device_id: uuid.UUID, severity: Severity) -> ReportFacts | None:
        """The device's facts for a new ticket of this severity (None: no such device)."""
        row = await _FACTS.fetchrow(self.session, {"device_id": device_id, "severity": severity})
        if row is None:
            return None
        loan = None
        if row["contract_id"] is not None:
            loan = CurrentLoan(
                row["contract_id"], row["loan_institution_number"], row["borrower_id"],
                row["learner_id"],
            )  # fmt: skip
        targets = None
        if row["response_minutes"] is not None:
            targets = (row["response_minutes"], row["resolution_minutes"])
        device = DeviceFacts(*row[: len(DeviceFacts._fields)])
        return ReportFacts(device=device, loan=loan, targets=targets, number=row["number"])

    async def insert(
        self, ticket: NewTicket, transition: dict[str, Any], outbox: dict[str, Any]
    ) -> None:
        """Insert a new ticket, its first transition and its outbox event
        (one statement)."""
        params = {f"t_{k}": getattr(ticket, k) for k in TICKET_COLUMNS}
        params.update({f"h_{k}": transition[k] for k in TRANSITION_VALUES})
        params.update({f"o_{k}": outbox[k] for k in OUTBOX_COLUMNS})
        await _OPEN.execute(self.session, params)
