"""Events the gateway reads: none (it is the source of identities, not a consumer)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.events.consumer import ConsumerRunner
from shared_kit.settings import ServiceSettings


def build_consumers(
    sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings
) -> list[ConsumerRunner]:
    """No consumer groups."""
    return []
