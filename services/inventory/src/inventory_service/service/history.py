"""Each device's change log: who changed what, when, and why."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service.models import Device, DeviceHistory
from inventory_service.repository import HistoryRepository
from shared_kit.observability import correlation_id


def record(
    session: AsyncSession,
    device: Device,
    actor: str,
    action: str,
    changes: dict[str, Any],
    reason: str | None = None,
) -> None:
    """Append a history entry for a device change (after flush, so the version is current)."""
    HistoryRepository(session).add(
        DeviceHistory(
            id=uuid.uuid4(),
            device_id=device.id,
            actor=actor,
            action=action,
            changes=changes,
            reason=reason,
            device_version=device.version,
            correlation_id=correlation_id.get(),
        )
    )


def as_json(value: Any) -> Any:
    """A field's value as the history's JSON stores it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date | uuid.UUID | Decimal):
        return str(value)
    return value


async def device_history(
    *, session: AsyncSession, device: Device, cursor: str | None, limit: int
) -> Sequence[DeviceHistory]:
    """A page of the device's history, oldest first."""
    return await HistoryRepository(session).for_device(device.id, cursor, limit)
