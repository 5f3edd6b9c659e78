"""What the service tells people: every kind of message, who gets it and how it may travel.

A kind is `essential` when a family must hear it whatever they prefer (the agreement to sign,
the return, an overdue loan): a person may move it to another channel but never turn it off.
Every message also lands in the person's in-portal notices, whatever the channels say.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    """Ways a message leaves the platform (the in-portal notice is always there)."""

    EMAIL = "email"
    SMS = "sms"


class Audience(StrEnum):
    """Who a kind is for (a person's preferences list only the kinds of their audiences)."""

    FAMILY = "family"
    SCHOOL = "school"
    SUPPORT = "support"
    ANYONE = "anyone"


@dataclass(frozen=True)
class Kind:
    """One kind of message."""

    name: str
    audience: Audience
    essential: bool = False
    default_channels: tuple[Channel, ...] = (Channel.EMAIL,)


_BOTH = (Channel.EMAIL, Channel.SMS)

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("reservation_approved", Audience.FAMILY),
        Kind("reservation_waitlisted", Audience.FAMILY),
        Kind("reservation_offered", Audience.FAMILY, default_channels=_BOTH),
        Kind("reservation_rejected", Audience.FAMILY),
        Kind("reservation_expired", Audience.FAMILY),
        Kind("contract_ready_to_sign", Audience.FAMILY, essential=True, default_channels=_BOTH),
        Kind("contract_sign_reminder", Audience.FAMILY, essential=True, default_channels=_BOTH),
        Kind("device_ready_to_collect", Audience.FAMILY, default_channels=_BOTH),
        Kind("pickup_reminder", Audience.FAMILY, default_channels=_BOTH),
        Kind("return_due_soon", Audience.FAMILY, essential=True),
        Kind("return_due_tomorrow", Audience.FAMILY, essential=True, default_channels=_BOTH),
        Kind("loan_overdue", Audience.FAMILY, essential=True, default_channels=_BOTH),
        Kind("ticket_acknowledged", Audience.FAMILY),
        Kind("ticket_commented", Audience.FAMILY),
        Kind("ticket_resolved", Audience.FAMILY),
        Kind("loaner_offered", Audience.FAMILY, default_channels=_BOTH),
        Kind("approvals_waiting", Audience.SCHOOL),
        Kind("sla_at_risk", Audience.SUPPORT),
        Kind("sla_breached", Audience.SUPPORT),
        # The platform about a person's own contact point (a bounced address): in-portal only.
        Kind("contact_point_rejected", Audience.ANYONE, essential=True, default_channels=()),
    )
}
