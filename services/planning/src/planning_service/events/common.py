"""What every planning event shares: the source, the type prefix and the outbox call."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.events import CloudEvent, add_event
from shared_kit.observability import correlation_id

SOURCE = "/datori/planning"
PREFIX = "lv.datori.planning."


def publish(
    session: AsyncSession, type_: str, subject: Any, municipality: str | None, data: BaseModel
) -> None:
    """Queue an event in the caller's transaction (keyed by `subject`, the aggregate id)."""
    add_event(
        session,
        CloudEvent(
            type=type_,
            source=SOURCE,
            subject=str(subject),
            data=data.model_dump(mode="json"),
            municipality=municipality,
            correlationid=correlation_id.get(),
        ),
    )
