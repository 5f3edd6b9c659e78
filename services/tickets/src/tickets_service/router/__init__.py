"""HTTP endpoints of the tickets service under `/api/v1/tickets`."""

from fastapi import APIRouter

from tickets_service.router import discussion, queues, tickets

router = APIRouter()
# Fixed paths first: `/queues` and `/sla-policies` must not be read as a ticket id.
router.include_router(queues.router)
router.include_router(tickets.router)
router.include_router(discussion.router)
