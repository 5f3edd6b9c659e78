"""All SQL of tickets lives here: the repositories (`base`), the lean report path (`reports`)
and the list's pages (`listing`)."""

from tickets_service.repository.base import (
    ClaimRepository,
    CommentRepository,
    DeviceRepository,
    LoanRepository,
    PhotoRepository,
    PolicyRepository,
    QueueCounts,
    TicketRepository,
)
from tickets_service.repository.listing import TicketListRepository
from tickets_service.repository.reports import (
    CurrentLoan,
    DeviceFacts,
    ReportFacts,
    ReportRepository,
)

__all__ = [
    "ClaimRepository",
    "CommentRepository",
    "CurrentLoan",
    "DeviceFacts",
    "DeviceRepository",
    "LoanRepository",
    "PhotoRepository",
    "PolicyRepository",
    "QueueCounts",
    "ReportFacts",
    "ReportRepository",
    "TicketListRepository",
    "TicketRepository",
]
