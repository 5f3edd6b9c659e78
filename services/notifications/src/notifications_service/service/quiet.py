"""Quiet hours: no SMS at night, local time (Europe/Riga), whatever the clocks do in March."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from notifications_service.config import NotificationsSettings


@dataclass(frozen=True)
class QuietHours:
    """From `from_hour` to `until_hour` local time nothing is sent by SMS."""

    timezone: str = "Europe/Riga"
    from_hour: int = 21
    until_hour: int = 8

    @classmethod
    def of(cls, settings: NotificationsSettings) -> QuietHours:
        """The quiet hours the settings name."""
        return cls(settings.timezone, settings.quiet_from_hour, settings.quiet_until_hour)

    def until(self, now: dt.datetime) -> dt.datetime | None:
        """When the quiet period `now` falls in ends (UTC), or None outside quiet hours."""
        if self.from_hour == self.until_hour:
            return None
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        day = local.date()
        if self.from_hour > self.until_hour:  # the period spans midnight
            if local.hour >= self.from_hour:
                day += dt.timedelta(days=1)
            elif local.hour >= self.until_hour:
                return None
        elif not self.from_hour <= local.hour < self.until_hour:
            return None
        # The wall-clock hour in the zone, so a DST change that night moves the UTC instant.
        return dt.datetime.combine(day, dt.time(self.until_hour), tzinfo=zone).astimezone(dt.UTC)
