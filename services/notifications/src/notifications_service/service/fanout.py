"""A new notice's deliveries: one per channel the person wants it by and can be reached on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service import wakeup
from notifications_service.kinds import KINDS, Channel, Kind
from notifications_service.models import Notice
from notifications_service.repository.deliveries import DeliveryRepository
from notifications_service.service.quiet import QuietHours

CHANNEL_NAMES = frozenset(c.value for c in Channel)


def channels_for(
    kind: Kind | None, enabled: bool | None, chosen: Sequence[str] | None
) -> set[Channel]:
    """The channels a kind travels by, given the person's preference (None: none stored).

    A kind without channels (in-portal only) gets none; an essential kind is never off, and
    an empty choice for it falls back to its defaults.
    """
    if kind is None or not kind.default_channels:
        return set()
    if enabled is None:
        return set(kind.default_channels)
    picked = {Channel(c) for c in chosen or () if c in CHANNEL_NAMES}
    if kind.essential:
        return picked or set(kind.default_channels)
    return picked if enabled else set()


async def due(
    session: AsyncSession,
    person_id: str,
    kind: str,
    *,
    now: dt.datetime,
    quiet: QuietHours | None = None,
) -> dict[Channel, dt.datetime]:
    """The channels a new notice of `kind` goes by to the person, and when each is due.

    Only channels with a verified, not rejected contact point; an SMS planned in quiet hours
    waits for their end (pass the service's `QuietHours.of(settings)`).
    """
    preference, reachable = await DeliveryRepository(session).reach(person_id, kind)
    wanted = channels_for(
        KINDS.get(kind),
        None if preference is None else preference.enabled,
        None if preference is None else preference.channels,
    )
    channels = wanted & reachable
    if not channels:
        return {}
    quiet_end = (quiet or QuietHours()).until(now)
    return {c: quiet_end if c is Channel.SMS and quiet_end else now for c in channels}


async def plan(
    session: AsyncSession,
    notice: Notice,
    *,
    now: dt.datetime,
    quiet: QuietHours | None = None,
) -> None:
    """Add the deliveries of `notice` in the caller's transaction (once: a replay adds none)."""
    channels = await due(session, notice.person_id, notice.kind, now=now, quiet=quiet)
    if channels:
        await DeliveryRepository(session).add_all(notice.id, notice.person_id, channels)
        wakeup.deliveries_added(session)
