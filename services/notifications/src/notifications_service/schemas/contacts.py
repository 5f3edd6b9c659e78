"""Models of a person's contact points: an address to set, a code to enter, what is shown."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from notifications_service.kinds import Channel
from notifications_service.models import ContactPoint
from shared_kit.schemas import Strict


class AddressWrite(Strict):
    """An e-mail address or a mobile number, as the person writes it."""

    # Longer than any valid address, so that "too long" is said by the address check.
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]


class CodeWrite(Strict):
    """The one-time code the person received."""

    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")]


class ContactPointRead(BaseModel):
    """A contact point as its owner sees it (nobody else ever does)."""

    channel: Channel
    address: str
    verified: bool
    verified_at: dt.datetime | None
    code_pending: bool
    code_expires_at: dt.datetime | None
    locked_until: dt.datetime | None
    rejected: bool
    rejected_reason: str | None

    @classmethod
    def of(cls, point: ContactPoint, address: str, now: dt.datetime) -> ContactPointRead:
        """What the owner sees of `point` at `now` (its address decrypted by the caller)."""
        expires = point.code_expires_at if point.code_hash is not None else None
        locked = point.locked_until
        return cls(
            channel=point.channel,
            address=address,
            verified=point.verified_at is not None,
            verified_at=point.verified_at,
            code_pending=expires is not None and expires > now,
            code_expires_at=expires,
            locked_until=locked if locked is not None and locked > now else None,
            rejected=point.rejected_at is not None,
            rejected_reason=point.rejected_reason,
        )
