"""Tickets tables: the read models (devices, loans), SLA policies, and the tickets themselves
with their comments, photos, transitions and insurance claims.

The read models are this service's own copies of what the inventory (`device`) and the
contracts service (`loan`) publish; the API never writes them. Category, OS and status are
plain strings there, so a new value upstream does not break this consumer.

A ticket keeps its SLA clocks in columns (see `service/sla.py` for the arithmetic):
`response_due_at` (fixed at opening) and `resolution_due_at`, which moves later by every
pause and is NULL while the clock stands still (waiting for the reporter, resolved, closed).
The SLA job reads both through partial indexes that hold only unflagged, running clocks.
"""

from tickets_service.models.base import (
    DONE_STATES,
    INSURANCE_CATEGORIES,
    LOSS_CATEGORIES,
    OPEN_STATES,
    REPAIR_CATEGORIES,
    WARRANTY_CATEGORIES,
    Base,
    Category,
    ClaimStatus,
    ContactPreference,
    ReporterKind,
    Severity,
    TicketSource,
    TicketState,
    Visibility,
    migration_metadata,
)
from tickets_service.models.tables import (
    Comment,
    Device,
    InsuranceClaim,
    Loan,
    NewTicket,
    Photo,
    SlaPolicy,
    Ticket,
    Transition,
)

__all__ = [
    "DONE_STATES",
    "INSURANCE_CATEGORIES",
    "LOSS_CATEGORIES",
    "OPEN_STATES",
    "REPAIR_CATEGORIES",
    "WARRANTY_CATEGORIES",
    "Base",
    "Category",
    "ClaimStatus",
    "Comment",
    "ContactPreference",
    "Device",
    "InsuranceClaim",
    "Loan",
    "NewTicket",
    "Photo",
    "ReporterKind",
    "Severity",
    "SlaPolicy",
    "Ticket",
    "TicketSource",
    "TicketState",
    "Transition",
    "Visibility",
    "migration_metadata",
]
