"""Events planning reads: the inventory's devices (the devices each school holds per grade band,
an allocation round's stored input).

Each payload model is this service's own tolerant copy: it reads the fields it needs and
ignores the rest. Every inventory device event carries the full device snapshot, so all four
types are handled alike. Every handler runs once per event (the kit's inbox) and is idempotent
on its own as well (the device snapshot's `version`: an older or repeated snapshot changes
nothing).
"""

from __future__ import annotations

import re
import uuid

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from planning_service.config import PlanningSettings
from planning_service.repository.allocation import HeldDeviceRepository
from shared_kit.clock import Clock, system_clock
from shared_kit.events import CloudEvent
from shared_kit.events.consumer import ConsumerRunner, Handler
from shared_kit.settings import ServiceSettings

DEVICE_EVENTS = tuple(
    f"lv.datori.inventory.device.{name}.v1"
    for name in ("registered", "updated", "assigned", "status_changed")
)
_GRADES = re.compile(r"([0-9]{1,2})\.?(?:\s*[-\u2013]\s*([0-9]{1,2}))?")  # "1-3", "1.\u20133."


class DeviceSnapshotIn(BaseModel):
    """The inventory's device snapshot, the fields planning counts by."""

    model_config = ConfigDict(extra="ignore")

    device_id: uuid.UUID
    version: int
    municipality_code: str
    institution_registration_number: str | None = None
    school_levels: list[str] | None = None  # e.g. "grades 1-3"; empty = any level
    status: str


class DeviceEventIn(BaseModel):
    """Any inventory device event."""

    model_config = ConfigDict(extra="ignore")
    device: DeviceSnapshotIn


def levels_mask(levels: list[str] | None) -> int:
    """Bit g set for each grade 1-12 the school levels name ("grades 1-3", "5", "1.-4."); 0 when
    none can be read (the device then counts as one for any level)."""
    mask = 0
    for level in levels or []:
        for first, last in _GRADES.findall(level):
            low, high = int(first), int(last or first)
            for grade in range(max(low, 1), min(high, 12) + 1):
                mask |= 1 << grade
    return mask


async def device_changed(session: AsyncSession, evt: CloudEvent) -> None:
    """Any inventory device event: keep the device's school, levels and status."""
    snap = DeviceEventIn.model_validate(evt.data).device
    await HeldDeviceRepository(session).upsert_if_newer(
        {
            "id": snap.device_id,
            "inventory_version": snap.version,
            "municipality_code": snap.municipality_code,
            "institution_number": snap.institution_registration_number,
            "levels_mask": levels_mask(snap.school_levels),
            "status": snap.status,
        }
    )


def build_handlers(clock: Clock = system_clock) -> dict[str, Handler]:
    """Event type → handler; `clock` is the service's (tests move it)."""
    return dict.fromkeys(DEVICE_EVENTS, device_changed)


def build_consumers(
    sessions: async_sessionmaker[AsyncSession],
    settings: ServiceSettings,
    clock: Clock = system_clock,
) -> list[ConsumerRunner]:
    """The service's one consumer group over the inventory's topic."""
    assert isinstance(settings, PlanningSettings)
    return [
        ConsumerRunner(
            name=settings.consumer_group,
            topics=[settings.inventory_topic],
            handlers=build_handlers(clock),
            session_factory=sessions,
            settings=settings,
        )
    ]
