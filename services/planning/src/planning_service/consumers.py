"""Events planning reads: the inventory's devices (the devices each school holds per grade band,
an allocation round's stored input).

Each payload model is this service's own tolerant copy: it reads the fields it needs and
ignores the rest. Every handler runs once per event (the kit's inbox) and is idempotent on its
own as well (the device snapshot's `version`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from planning_service.config import PlanningSettings
from shared_kit.clock import Clock, system_clock
from shared_kit.events.consumer import ConsumerRunner, Handler
from shared_kit.settings import ServiceSettings


def build_handlers(clock: Clock = system_clock) -> dict[str, Handler]:
    """Event type → handler; `clock` is the service's (tests move it)."""
    return {}


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
