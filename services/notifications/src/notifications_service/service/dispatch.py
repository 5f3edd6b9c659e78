"""The dispatcher's rules: whether a claimed delivery may still go, and when to try again."""

from __future__ import annotations

import datetime as dt
import random

from notifications_service.config import NotificationsSettings
from notifications_service.kinds import KINDS
from notifications_service.repository.deliveries import Job
from notifications_service.service.fanout import channels_for

MAX_ERROR = 500


def obstacle(job: Job) -> str | None:
    """Why the delivery must not go any more (it is cancelled), or None."""
    if job.contact_point_id is None or job.address_encrypted is None:
        return "no contact point for the channel"
    if not job.verified:
        return "the contact point is not verified"
    if job.rejected:
        return "the contact point was refused"
    if job.channel not in channels_for(KINDS.get(job.kind), job.enabled, job.chosen):
        return "the person no longer wants this kind by this channel"
    return None


def backoff(attempts: int, settings: NotificationsSettings, rng: random.Random) -> dt.timedelta:
    """The wait after the `attempts`-th failure: base·2^(attempts-1), capped, times a jitter
    in [0.5, 1] so that messages failed together do not come back together."""
    nominal = min(settings.retry_cap_s, settings.retry_base_s * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=nominal * rng.uniform(0.5, 1.0))


def scrub(error: object, address: str | None) -> str:
    """An error for the log and the table: the address replaced, the length bounded."""
    text = str(error)
    if address:
        text = text.replace(address, "<address>").replace(address.lower(), "<address>")
    return text[:MAX_ERROR]
