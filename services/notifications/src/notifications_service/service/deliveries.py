"""Deliveries for platform administrators: the failed ones, and trying one again."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.exceptions import DeliveryNotFailed, DeliveryNotFound
from notifications_service.models import Delivery, DeliveryState
from notifications_service.repository.deliveries import DeliveryRepository


async def list_deliveries(
    *, session: AsyncSession, state: DeliveryState, cursor: str | None, limit: int
) -> Sequence[tuple[Delivery, str]]:
    """Deliveries in a state with their kinds, least recently changed first (one extra)."""
    return await DeliveryRepository(session).page(state, cursor, limit)


async def retry(*, session: AsyncSession, delivery_id: uuid.UUID, now: dt.datetime) -> Delivery:
    """Put a failed delivery back in the queue with its attempts reset."""
    delivery = await DeliveryRepository(session).get(delivery_id)
    if delivery is None:
        raise DeliveryNotFound()
    if delivery.state is not DeliveryState.FAILED:
        raise DeliveryNotFailed(f"The delivery is {delivery.state.value}")
    delivery.state = DeliveryState.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.lease_until = None
    return delivery
