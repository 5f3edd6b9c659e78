"""Wakes the dispatchers of this process when a transaction that added deliveries commits.

They would find the deliveries on their next poll anyway; this only cuts the wait.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

_ADDED = "notifications_deliveries_added"
_waiting: set[asyncio.Event] = set()


def deliveries_added(session: AsyncSession) -> None:
    """Note that this transaction added deliveries (the dispatchers wake when it commits)."""
    session.info[_ADDED] = True


def subscribe() -> asyncio.Event:
    """An event set whenever a transaction that added deliveries commits in this process."""
    woken = asyncio.Event()
    _waiting.add(woken)
    return woken


def unsubscribe(woken: asyncio.Event) -> None:
    """Stop waking this dispatcher."""
    _waiting.discard(woken)


@event.listens_for(Session, "after_commit")
def _wake(session: Session) -> None:
    if session.info.pop(_ADDED, False):
        for woken in _waiting:
            woken.set()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_ADDED, None)
