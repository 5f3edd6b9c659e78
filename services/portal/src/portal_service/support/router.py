"""Support: the municipality's technicians work through the problem reports (pages under
`/support/`): the queue, a ticket, and the ticket's claims, loaner and loss."""

from __future__ import annotations

from fastapi import APIRouter

from portal_service.support import actions, queue, ticket

router = APIRouter()
for part in (queue, ticket, actions):
    router.include_router(part.router)
