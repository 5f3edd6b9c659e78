"""What an institution lends: its lendable devices grouped by catalogue item, with how many of
each are free for a period (what a family chooses from when reserving)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service.config import ReservationsSettings
from reservations_service.exceptions import InvalidPeriod
from reservations_service.repository import DeviceRepository
from reservations_service.service.allocation import bookings, device_view
from reservations_service.service.allocation_rules import DeviceView, is_free
from reservations_service.service.policies import effective_policy, school_year_end_after
from reservations_service.service.reservations import get_institution


@dataclass(frozen=True)
class OfferedItem:
    """One catalogue item an institution lends: its kind (from one of its devices) and counts."""

    kind: DeviceView
    matching: int
    free: int


async def offer(
    *,
    session: AsyncSession,
    number: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    now: dt.datetime,
    settings: ReservationsSettings,
) -> tuple[dt.datetime, dt.datetime, list[OfferedItem]]:
    """(start, end, the items by code) at an institution; the period defaults as availability's."""
    institution = await get_institution(session=session, number=number)
    start = start or now
    if end is None:
        policy = await effective_policy(session, institution.municipality_code)
        end = school_year_end_after(start, policy.school_year_end, settings.timezone)
    if end <= start:
        raise InvalidPeriod("The period must end after it starts")
    devices = [device_view(d) for d in await DeviceRepository(session).lendable_at(number)]
    booked = await bookings(session, [d.id for d in devices], now)
    begin = max(start, now)
    groups: dict[str, list[DeviceView]] = {}
    for device in devices:
        groups.setdefault(device.catalogue_item_code, []).append(device)
    items = [
        OfferedItem(
            kind=group[0],
            matching=len(group),
            free=sum(1 for d in group if begin < end and is_free(d.id, begin, end, booked)),
        )
        for _, group in sorted(groups.items())
    ]
    return start, end, items
