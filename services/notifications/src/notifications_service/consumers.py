"""Events notifications read: reservations, contracts, tickets and identity.

Each payload model is this service's own tolerant copy: it reads the fields it needs and
ignores the rest. Every handler runs once per event (the kit's inbox), and what it makes is
unique per (cause, person), so a replay through another route adds nothing either.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications_service.config import NotificationsSettings
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
    """The service's one consumer group over the topics it reads."""
    assert isinstance(settings, NotificationsSettings)
    return [
        ConsumerRunner(
            name=settings.consumer_group,
            topics=[
                settings.reservations_topic,
                settings.contracts_topic,
                settings.tickets_topic,
                settings.identity_topic,
            ],
            handlers=build_handlers(clock),
            session_factory=sessions,
            settings=settings,
        )
    ]
