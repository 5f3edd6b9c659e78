"""Deliveries as platform administrators see them: no address, no text."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel

from notifications_service.kinds import Channel
from notifications_service.models import Delivery, DeliveryState


class DeliveryRead(BaseModel):
    """One delivery's state, for finding and retrying failures."""

    id: uuid.UUID
    notice_id: uuid.UUID
    kind: str
    channel: Channel
    state: DeliveryState
    attempts: int
    last_error: str | None
    updated_at: dt.datetime

    @classmethod
    def of(cls, delivery: Delivery, kind: str) -> DeliveryRead:
        """From the row and its notice's kind."""
        return cls(
            id=delivery.id,
            notice_id=delivery.notice_id,
            kind=kind,
            channel=delivery.channel,
            state=delivery.state,
            attempts=delivery.attempts,
            last_error=delivery.last_error,
            updated_at=delivery.updated_at,
        )
